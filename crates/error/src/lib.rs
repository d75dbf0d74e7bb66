//! How errors leave a tokenwatch service.
//!
//! Every crate has its own `thiserror` enum; each implements [`ServiceError`] to say which
//! [`ServiceErrorCode`] it is. [`ServiceErrorCode`] maps to a gRPC code in exactly one place
//! ([`ServiceErrorCode::grpc_code`]), and [`into_status`] turns any [`ServiceError`] into a
//! [`Status`], hiding internal details behind a correlation id that is logged with the cause.
//!
//! # Layout
//!
//! - [`ServiceErrorCode`]: the closed vocabulary;
//! - [`ServiceError`]: what a crate's error implements;
//! - [`into_status`], [`invalid_argument`], [`resource_exhausted`]: conversions to
//!   `tonic::Status`;
//! - [`CauseChain`]: an error with its sources, for logs.

use std::fmt;

use tokenwatch_proto::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// What kind of failure an error is, from the caller's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceErrorCode {
    /// The request is malformed; the caller must change it.
    InvalidArgument,
    /// No valid credentials were presented.
    Unauthenticated,
    /// The credentials do not allow this operation on this tenant.
    PermissionDenied,
    /// The object does not exist (within a tenant the caller may act for).
    NotFound,
    /// The object to create exists already.
    AlreadyExists,
    /// The state does not allow the operation (for instance a stale version).
    FailedPrecondition,
    /// A quota or rate limit was hit; retry later.
    ResourceExhausted,
    /// A dependency is down or the service is shutting down; retry later.
    Unavailable,
    /// The operation is part of the contract but not built yet.
    Unimplemented,
    /// A bug or an unexpected failure; details are only in the logs.
    Internal,
}

impl ServiceErrorCode {
    /// The gRPC code for this kind of failure. The only place this mapping is written.
    pub fn grpc_code(self) -> Code {
        match self {
            ServiceErrorCode::InvalidArgument => Code::InvalidArgument,
            ServiceErrorCode::Unauthenticated => Code::Unauthenticated,
            ServiceErrorCode::PermissionDenied => Code::PermissionDenied,
            ServiceErrorCode::NotFound => Code::NotFound,
            ServiceErrorCode::AlreadyExists => Code::AlreadyExists,
            ServiceErrorCode::FailedPrecondition => Code::FailedPrecondition,
            ServiceErrorCode::ResourceExhausted => Code::ResourceExhausted,
            ServiceErrorCode::Unavailable => Code::Unavailable,
            ServiceErrorCode::Unimplemented => Code::Unimplemented,
            ServiceErrorCode::Internal => Code::Internal,
        }
    }

    /// Whether the error's own message may be shown to the caller. Internal and unavailable
    /// errors carry database or network details that must not cross a tenant boundary.
    fn message_is_public(self) -> bool {
        !matches!(
            self,
            ServiceErrorCode::Internal | ServiceErrorCode::Unavailable
        )
    }
}

/// An error that knows which [`ServiceErrorCode`] it is.
pub trait ServiceError: std::error::Error {
    /// The kind of failure, which decides the gRPC code.
    fn error_code(&self) -> ServiceErrorCode;

    /// For a rate limit or an outage with a known end, how long the caller should wait before
    /// retrying; sent as a `RetryInfo` detail.
    fn retry_after(&self) -> Option<std::time::Duration> {
        None
    }
}

/// Turns a service error into a gRPC status. Internal and unavailable errors are logged with
/// their cause chain and a fresh correlation id; the caller sees only a generic message and the
/// id, never the cause.
pub fn into_status<E: ServiceError>(error: E) -> Status {
    let code = error.error_code();
    let message = if code.message_is_public() {
        error.to_string()
    } else {
        let correlation_id = uuid::Uuid::new_v4();
        tracing::error!(%correlation_id, error = %CauseChain(&error), "request failed");
        let message = match code {
            ServiceErrorCode::Unavailable => "service temporarily unavailable",
            _ => "internal error",
        };
        format!("{message} (correlation id {correlation_id})")
    };
    match error.retry_after() {
        Some(wait) => retry_later(code.grpc_code(), message, wait),
        None => Status::new(code.grpc_code(), message),
    }
}

/// An INVALID_ARGUMENT status carrying a `BadRequest` detail naming the field, so clients can
/// point at the field without parsing the message.
pub fn invalid_argument(field: &str, description: impl Into<String>) -> Status {
    let description = description.into();
    let mut details = ErrorDetails::new();
    details.add_bad_request_violation(field, description.clone());
    Status::with_error_details(
        Code::InvalidArgument,
        format!("invalid {field}: {description}"),
        details,
    )
}

/// A RESOURCE_EXHAUSTED status for a rate limit, with a `RetryInfo` detail saying when to
/// come back (gRPC clients and the SDKs' retry policies read it).
pub fn resource_exhausted(message: impl Into<String>, retry_after: std::time::Duration) -> Status {
    retry_later(Code::ResourceExhausted, message.into(), retry_after)
}

fn retry_later(code: Code, message: String, retry_after: std::time::Duration) -> Status {
    let details = ErrorDetails::with_retry_info(Some(retry_after));
    Status::with_error_details(code, message, details)
}

/// The RPC exists in the contract but its body is built by a later issue.
pub fn unimplemented(rpc: &str) -> Status {
    Status::unimplemented(format!("{rpc} is not implemented yet"))
}

/// Formats an error with its sources, `outer: inner: innermost`, for logs.
#[derive(Debug)]
pub struct CauseChain<'a>(pub &'a dyn std::error::Error);

impl fmt::Display for CauseChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Leaky(ServiceErrorCode);

    impl fmt::Display for Leaky {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("relation tenant_b.secret_table does not exist")
        }
    }

    impl std::error::Error for Leaky {}

    impl ServiceError for Leaky {
        fn error_code(&self) -> ServiceErrorCode {
            self.0
        }
    }

    #[test]
    fn a_rate_limit_says_when_to_retry() {
        let status = resource_exhausted("slow down", std::time::Duration::from_millis(1500));
        assert_eq!(status.code(), Code::ResourceExhausted);
        let retry = status.get_details_retry_info().expect("a RetryInfo detail");
        assert_eq!(
            retry.retry_delay,
            Some(std::time::Duration::from_millis(1500))
        );
    }

    #[test]
    fn internal_details_never_reach_the_caller() {
        for code in [ServiceErrorCode::Internal, ServiceErrorCode::Unavailable] {
            let status = into_status(Leaky(code));
            assert_eq!(status.code(), code.grpc_code());
            assert!(!status.message().contains("secret_table"), "{status:?}");
            assert!(status.message().contains("correlation id"));
        }
    }

    /// An outage that knows when it ends.
    #[derive(Debug)]
    struct LeakyOutage;

    impl fmt::Display for LeakyOutage {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("connection to 10.0.0.5:5432 refused")
        }
    }

    impl std::error::Error for LeakyOutage {}

    impl ServiceError for LeakyOutage {
        fn error_code(&self) -> ServiceErrorCode {
            ServiceErrorCode::Unavailable
        }

        fn retry_after(&self) -> Option<std::time::Duration> {
            Some(std::time::Duration::from_secs(2))
        }
    }

    #[test]
    fn a_retry_hint_does_not_unmask_an_internal_message() {
        let status = into_status(LeakyOutage);
        assert_eq!(status.code(), Code::Unavailable);
        assert!(!status.message().contains("10.0.0.5"), "{status:?}");
        let retry = status.get_details_retry_info().expect("RetryInfo");
        assert_eq!(retry.retry_delay, Some(std::time::Duration::from_secs(2)));
    }

    #[test]
    fn caller_errors_keep_their_message() {
        let status = into_status(Leaky(ServiceErrorCode::NotFound));
        assert_eq!(status.code(), Code::NotFound);
        assert!(status.message().contains("secret_table"));
    }

    #[test]
    fn invalid_argument_names_the_field() {
        let status = invalid_argument("tenant_id", "not a GUID");
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let violations = &details.bad_request().unwrap().field_violations;
        assert_eq!(violations[0].field, "tenant_id");
    }
}

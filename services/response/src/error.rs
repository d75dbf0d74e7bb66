//! What can fail inside the response service, and how it reaches a caller: through
//! [`into_status`], so an internal failure is logged with its causes and the caller sees only
//! its code and a correlation id. Handlers write `.map_err(fail)?`; nothing here builds a
//! `Status` from an error's text.

use tokenwatch_error::{ServiceError, ServiceErrorCode, into_status};
use tokenwatch_proto::Status;
use tokenwatch_storage::StorageError;

/// A failure inside the response service.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ResponseError {
    /// Postgres failed or refused.
    #[error("storage failed")]
    Storage(#[from] StorageError),
    /// A policy could not be encoded.
    #[error("cannot encode the policy")]
    Encode(#[from] serde_json::Error),
}

impl From<sqlx::Error> for ResponseError {
    fn from(error: sqlx::Error) -> Self {
        ResponseError::Storage(StorageError::from(error))
    }
}

impl ServiceError for ResponseError {
    fn error_code(&self) -> ServiceErrorCode {
        match self {
            ResponseError::Storage(error) => error.error_code(),
            ResponseError::Encode(_) => ServiceErrorCode::Internal,
        }
    }
}

/// Any failure the service knows, as its caller may see it.
pub(crate) fn fail(error: impl Into<ResponseError>) -> Status {
    into_status(error.into())
}

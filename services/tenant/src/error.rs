//! What can fail inside the tenant service, and how it reaches a caller: through
//! [`into_status`], so an internal failure is logged with its causes and the caller sees only
//! its code and a correlation id. Handlers write `.map_err(fail)?`; nothing here builds a
//! `Status` from an error's text.

use tokenwatch_error::{ServiceError, ServiceErrorCode, into_status};
use tokenwatch_proto::Status;
use tokenwatch_storage::StorageError;

/// A failure inside the tenant service.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TenantError {
    /// Postgres failed or refused.
    #[error("storage failed")]
    Storage(#[from] StorageError),
}

impl From<sqlx::Error> for TenantError {
    fn from(error: sqlx::Error) -> Self {
        TenantError::Storage(StorageError::from(error))
    }
}

impl ServiceError for TenantError {
    fn error_code(&self) -> ServiceErrorCode {
        match self {
            TenantError::Storage(error) => error.error_code(),
        }
    }
}

/// Any failure the service knows, as its caller may see it.
pub(crate) fn fail(error: impl Into<TenantError>) -> Status {
    into_status(error.into())
}

//! What can fail inside the baseline service, and how it reaches a caller: through
//! [`into_status`], so an internal failure is logged with its causes and the caller sees only
//! its code and a correlation id. Handlers write `.map_err(fail)?`; nothing here builds a
//! `Status` from an error's text.

use tokenwatch_error::{ServiceError, ServiceErrorCode, into_status};
use tokenwatch_proto::Status;
use tokenwatch_storage::StorageError;

/// A failure inside the baseline service.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BaselineError {
    /// Postgres failed or refused.
    #[error("storage failed")]
    Storage(#[from] StorageError),
    /// The pipeline's state (hot in Redis, or stored) could not be read or rebuilt.
    #[error("engine state unavailable")]
    Pipeline(#[from] tokenwatch_pipeline::PipelineError),
}

impl From<sqlx::Error> for BaselineError {
    fn from(error: sqlx::Error) -> Self {
        BaselineError::Storage(StorageError::from(error))
    }
}

impl ServiceError for BaselineError {
    fn error_code(&self) -> ServiceErrorCode {
        match self {
            BaselineError::Storage(error) => error.error_code(),
            BaselineError::Pipeline(error) => error.error_code(),
        }
    }
}

/// Any failure the service knows, as its caller may see it.
pub(crate) fn fail(error: impl Into<BaselineError>) -> Status {
    into_status(error.into())
}

//! What can fail inside the detection service, and how it reaches a caller: through
//! [`into_status`], so an internal failure is logged with its causes and the caller sees only
//! its code and a correlation id. Handlers write `.map_err(fail)?`; nothing here builds a
//! `Status` from an error's text.

use tokenwatch_error::{ServiceError, ServiceErrorCode, into_status};
use tokenwatch_proto::Status;
use tokenwatch_storage::StorageError;

/// A failure inside the detection service.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DetectionError {
    /// Postgres failed or refused.
    #[error("storage failed")]
    Storage(#[from] StorageError),
    /// The hot state or the stored engine state could not be loaded.
    #[error("engine state unavailable")]
    Pipeline(#[from] tokenwatch_pipeline::PipelineError),
}

impl From<sqlx::Error> for DetectionError {
    fn from(error: sqlx::Error) -> Self {
        DetectionError::Storage(StorageError::from(error))
    }
}

impl ServiceError for DetectionError {
    fn error_code(&self) -> ServiceErrorCode {
        match self {
            DetectionError::Storage(error) => error.error_code(),
            DetectionError::Pipeline(error) => error.error_code(),
        }
    }
}

/// Any failure the service knows, as its caller may see it.
pub(crate) fn fail(error: impl Into<DetectionError>) -> Status {
    into_status(error.into())
}

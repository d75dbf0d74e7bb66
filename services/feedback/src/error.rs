//! What can fail inside the feedback service, and how it reaches a caller: through
//! [`into_status`], so an internal failure is logged with its causes and the caller sees only
//! its code and a correlation id. Handlers write `.map_err(fail)?`; nothing here builds a
//! `Status` from an error's text.

use tokenwatch_error::{ServiceError, ServiceErrorCode, into_status};
use tokenwatch_proto::Status;
use tokenwatch_storage::StorageError;

/// A failure inside the feedback service.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FeedbackError {
    /// Postgres failed or refused.
    #[error("storage failed")]
    Storage(#[from] StorageError),
    /// A re-scored finding could not be encoded.
    #[error("cannot encode a re-scored finding")]
    Encode(#[from] serde_json::Error),
    /// Learning produced weights that fail their own checks.
    #[error("the learned weights fail their checks")]
    Learn(#[from] tokenwatch_core::detect::weights::WeightError),
}

impl From<sqlx::Error> for FeedbackError {
    fn from(error: sqlx::Error) -> Self {
        FeedbackError::Storage(StorageError::from(error))
    }
}

impl ServiceError for FeedbackError {
    fn error_code(&self) -> ServiceErrorCode {
        match self {
            FeedbackError::Storage(error) => error.error_code(),
            FeedbackError::Encode(_) | FeedbackError::Learn(_) => ServiceErrorCode::Internal,
        }
    }
}

/// Any failure the service knows, as its caller may see it.
pub(crate) fn fail(error: impl Into<FeedbackError>) -> Status {
    into_status(error.into())
}

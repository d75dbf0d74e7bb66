use tokenwatch_error::{ServiceError, ServiceErrorCode};

/// What can go wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The object does not exist for this tenant.
    #[error("{kind} {id} not found")]
    NotFound {
        /// What was looked up ("tenant", "finding"...).
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// The object exists already.
    #[error("{kind} {id} already exists")]
    AlreadyExists {
        /// What was created.
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// A page token that this server did not hand out.
    #[error("invalid page token")]
    InvalidPageToken,
    /// The database could not be reached or timed out.
    #[error("database unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// Any other database failure.
    #[error("database error")]
    Database(#[source] sqlx::Error),
    /// A stored value this build cannot read (a name outside its set, an id that is no UUID).
    #[error("unreadable stored value")]
    Corrupt(#[source] tokenwatch_types::IdError),
    /// Migrations failed.
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// SQLSTATEs that say the server cannot take the work now, not that the work is wrong: class
/// 08 (connection exception), class 53 (insufficient resources: disk full, out of memory, too
/// many connections), 57P01-57P03 (shutting down, crashed, starting up), and 40001/40P01
/// (serialization failure, deadlock: the transaction may simply be run again).
fn is_transient(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("53")
        || matches!(code, "57P01" | "57P02" | "57P03" | "40001" | "40P01")
}

impl From<sqlx::Error> for StorageError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            // Connection-level failures are worth a retry; everything else is a bug or bad data.
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StorageError::Unavailable(error)
            }
            sqlx::Error::Database(ref database)
                if database.code().is_some_and(|code| is_transient(&code)) =>
            {
                StorageError::Unavailable(error)
            }
            other => StorageError::Database(other),
        }
    }
}

impl ServiceError for StorageError {
    fn error_code(&self) -> ServiceErrorCode {
        match self {
            StorageError::NotFound { .. } => ServiceErrorCode::NotFound,
            StorageError::AlreadyExists { .. } => ServiceErrorCode::AlreadyExists,
            StorageError::InvalidPageToken => ServiceErrorCode::InvalidArgument,
            StorageError::Unavailable(_) => ServiceErrorCode::Unavailable,
            StorageError::Database(_) | StorageError::Corrupt(_) | StorageError::Migrate(_) => {
                ServiceErrorCode::Internal
            }
        }
    }
}

/// Reads a stored name or id back into its domain type.
pub(crate) fn parse_stored<T: std::str::FromStr<Err = tokenwatch_types::IdError>>(
    text: &str,
) -> StorageResult<T> {
    text.parse().map_err(StorageError::Corrupt)
}

/// Result of a storage operation.
pub type StorageResult<T> = Result<T, StorageError>;

#[cfg(test)]
mod tests {
    use super::is_transient;

    #[test]
    fn outages_and_exhaustion_are_transient_bad_work_is_not() {
        for code in [
            "08006", "53100", "53200", "53300", "57P01", "57P03", "40001", "40P01",
        ] {
            assert!(is_transient(code), "{code}");
        }
        for code in ["23505", "23503", "42P01", "22P02", "XX000"] {
            assert!(!is_transient(code), "{code}");
        }
    }
}

//! One module per command that is not `serve`.

pub(crate) mod config;
pub(crate) mod eval;
pub(crate) mod feedback;
pub(crate) mod findings;
pub(crate) mod health;
pub(crate) mod ingest;
pub(crate) mod migrate;
pub(crate) mod scan;
pub(crate) mod simulate;
pub(crate) mod tenant;
pub(crate) mod token;

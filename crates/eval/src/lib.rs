//! Detection quality on labelled data, as a library: what `tokenwatch eval` prints, and the
//! experiment that measures whether analysts' verdicts make the following week better. Pure
//! functions over events, findings and labels; reading files and printing are the CLI's.
//!
//! # Layout
//!
//! - `metrics`: [`report`] (precision, recall, false positives per 1,000 user-days, recall
//!   per attack kind, flagged look-alikes, delay), [`rules`] (the two rules analysts run
//!   today), [`parse_labels`] (both label layouts), [`user_days`];
//! - `experiment`: [`experiment`], week one's verdicts → learned weights and suppressions →
//!   week two scored four ways.

mod experiment;
mod metrics;

pub use experiment::{Experiment, TenantLesson, experiment};
pub use metrics::{
    Flagged, Key, Report, flagged_by, flagged_key, parse_labels, report, rules, user_days,
};

/// Why an evaluation could not run.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A labels.json that is not the dataset layout.
    #[error("labels.json must hold \"attacks\" and \"benign_tricky\" lists")]
    DatasetLabels(#[source] serde_json::Error),
    /// Labels that are neither layout.
    #[error(
        "labels must be JSON lines as `tokenwatch simulate` writes them, or a labels.json with \"attacks\""
    )]
    LineLabels(#[source] serde_json::Error),
    /// The experiment needs findings to give verdicts on.
    #[error("no findings to give verdicts on")]
    NoFindings,
    /// Learning from the verdicts failed.
    #[error("learning from the verdicts failed")]
    Learn(#[from] tokenwatch_core::detect::weights::WeightError),
}

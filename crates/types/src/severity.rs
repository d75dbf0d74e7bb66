//! How bad a finding is.

use crate::{Named, named_enum_impls};

/// How bad a finding is, ordered: `Info < Low < Medium < High < Critical`. The order is the
/// only ranking of severities in the code base; thresholds compare with `>=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth knowing, nothing to do (policies and reports use it; the engine never raises it).
    Info,
    /// Just over the threshold.
    Low,
    /// From 1.3× the threshold.
    Medium,
    /// Twice the threshold, or risky operations after a change.
    High,
    /// Both.
    Critical,
}

impl Severity {
    /// Every severity, least first.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The name used in storage, JSON, the CLI and webhooks.
    pub fn as_str(self) -> &'static str {
        self.name()
    }

    /// This severity and every one above it, least first.
    pub fn and_above(self) -> impl Iterator<Item = Severity> {
        Severity::ALL.into_iter().filter(move |s| *s >= self)
    }
}

impl Named for Severity {
    const KIND: &'static str = "severity";
    const EXPECTED: &'static str = "info, low, medium, high, critical";
    const ALL: &'static [Self] = &Severity::ALL;

    fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

named_enum_impls!(Severity);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IdError;

    #[test]
    fn severities_are_ordered_and_read_back_from_their_names() {
        assert!(Severity::Info < Severity::Low && Severity::High < Severity::Critical);
        for severity in Severity::ALL {
            assert_eq!(severity.to_string().parse::<Severity>(), Ok(severity));
            let json = serde_json::to_string(&severity).unwrap();
            assert_eq!(json, format!("\"{severity}\""));
            assert_eq!(serde_json::from_str::<Severity>(&json).unwrap(), severity);
        }
        assert_eq!(" HIGH ".parse::<Severity>(), Ok(Severity::High));
        assert!(matches!(
            "severe".parse::<Severity>(),
            Err(IdError::UnknownName {
                kind: "severity",
                ..
            })
        ));
        assert_eq!(
            Severity::High.and_above().collect::<Vec<_>>(),
            [Severity::High, Severity::Critical]
        );
    }
}

//! The weight set: one weight per feature and the score threshold, versioned per tenant and
//! tunable by a detection engineer. The defaults carry their own examples (tau-engine style):
//! [`WeightSet::check`] scores a hand-made attack and a hand-made benign look-alike and refuses a
//! weight set that gets either wrong.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::detect::feature::Feature;

/// Default score threshold.
pub const DEFAULT_THRESHOLD: f64 = 3.0;

/// Weights and threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightSet {
    /// Version, 1 for the defaults.
    pub version: i64,
    /// Weight per feature (serialized by name).
    pub weights: BTreeMap<Feature, f64>,
    /// Sessions scoring at or above this are findings.
    pub threshold: f64,
}

impl Default for WeightSet {
    fn default() -> Self {
        WeightSet {
            version: 1,
            weights: Feature::ALL
                .iter()
                .map(|feature| (*feature, feature.default_weight()))
                .collect(),
            threshold: DEFAULT_THRESHOLD,
        }
    }
}

/// Why a weight set was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WeightError {
    /// A name that is no feature.
    #[error("unknown feature {0:?}")]
    UnknownFeature(String),
    /// Negative, not finite, or a threshold not above zero.
    #[error("{0} must be a finite number >= 0 (threshold > 0)")]
    OutOfRange(String),
    /// The set misses its own examples.
    #[error("the weight set fails its example: {0}")]
    Example(&'static str),
}

impl WeightSet {
    /// The weight of a feature (0 if unset).
    pub fn weight(&self, feature: Feature) -> f64 {
        self.weights.get(&feature).copied().unwrap_or(0.0)
    }

    /// A copy with some weights and the threshold changed, checked.
    pub fn with_changes(
        &self,
        changes: &BTreeMap<String, f64>,
        threshold: Option<f64>,
    ) -> Result<WeightSet, WeightError> {
        let mut next = self.clone();
        for (name, weight) in changes {
            let feature = name
                .parse::<Feature>()
                .map_err(|_| WeightError::UnknownFeature(name.clone()))?;
            next.weights.insert(feature, *weight);
        }
        if let Some(threshold) = threshold {
            next.threshold = threshold;
        }
        next.version = self.version + 1;
        next.check()?;
        Ok(next)
    }

    /// Checks ranges and the embedded examples: a replayed session (new network with another
    /// client, no sign-in, inbox rule) must score at or above the threshold; a trip (a fresh
    /// sign-in from a new country and network, same client) must stay below it.
    pub fn check(&self) -> Result<(), WeightError> {
        for (name, weight) in &self.weights {
            if !weight.is_finite() || *weight < 0.0 {
                return Err(WeightError::OutOfRange(name.to_string()));
            }
        }
        if !self.threshold.is_finite() || self.threshold <= 0.0 {
            return Err(WeightError::OutOfRange("threshold".to_owned()));
        }
        let score =
            |features: &[Feature]| -> f64 { features.iter().map(|f| self.weight(*f)).sum() };
        let replay = score(&[
            Feature::NovelNetworkChange,
            Feature::ClientChange,
            Feature::NoFreshSignin,
            Feature::RiskyAfterChange,
            Feature::NewNetwork,
        ]);
        if replay < self.threshold {
            return Err(WeightError::Example(
                "a replayed session with an inbox rule scores below the threshold",
            ));
        }
        let trip = score(&[Feature::NewCountry, Feature::NewNetwork]);
        if trip >= self.threshold {
            return Err(WeightError::Example(
                "a signed-in trip scores at or above the threshold",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pass_their_examples() {
        WeightSet::default().check().unwrap();
    }

    #[test]
    fn changes_are_checked() {
        let defaults = WeightSet::default();
        let raised = defaults
            .with_changes(&BTreeMap::from([("interleaving".to_owned(), 3.0)]), None)
            .unwrap();
        assert_eq!(raised.version, 2);
        assert_eq!(raised.weight(Feature::Interleaving), 3.0);
        let unknown = defaults.with_changes(&BTreeMap::from([("vibes".to_owned(), 1.0)]), None);
        assert_eq!(
            unknown.unwrap_err(),
            WeightError::UnknownFeature("vibes".to_owned())
        );
        let blind = defaults.with_changes(&BTreeMap::new(), Some(50.0));
        assert!(matches!(blind, Err(WeightError::Example(_))));
        let paranoid = defaults.with_changes(&BTreeMap::new(), Some(1.0));
        assert!(matches!(paranoid, Err(WeightError::Example(_))));
        let negative =
            defaults.with_changes(&BTreeMap::from([("off_hours".to_owned(), -1.0)]), None);
        assert!(matches!(negative, Err(WeightError::OutOfRange(_))));
    }
}

//! Weights that learn from analysts' verdicts: a bounded exponentiated-gradient update.
//!
//! A finding is a weighted sum of feature values crossing a threshold. A verdict says on which
//! side of the threshold the session belongs: a false positive should have scored below it, a
//! true positive at or above it, by a margin. For a verdict whose finding is on the wrong side
//! of its margin, each weight moves multiplicatively in proportion to its feature's value
//! (Kivinen & Warmuth's EG update on the hinge loss): `w ← w · exp(∓ rate · value)`. So the
//! features that fired hardest in a false positive lose the most, those absent from it keep
//! their weight, and a weight never changes sign. Every weight stays within
//! `[floor, ceiling] × its prior` (the global defaults a new tenant starts from), and the result
//! must still pass the weight set's own examples; a step that would break them is shrunk until
//! it does not, or dropped.
//!
//! A benign true positive ("real, but expected": a known trip) counts half a false positive:
//! the features saw a real change, it just was not a threat. Suppressions are the sharper tool
//! for those.

use std::collections::BTreeMap;

use crate::detect::feature::Feature;
use crate::detect::weights::{WeightError, WeightSet};

/// What an analyst said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    /// An attack.
    TruePositive,
    /// Not an attack.
    FalsePositive,
    /// Real, but expected.
    BenignTruePositive,
}

/// One judged finding: the feature values it scored with, and the verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    /// Feature → value (0..1), as the finding's reasons give them.
    pub values: BTreeMap<Feature, f64>,
    /// The verdict.
    pub label: Label,
}

/// How far and how fast weights may move.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LearnConfig {
    /// Step size of the exponentiated update.
    pub rate: f64,
    /// A weight never falls below this share of its prior.
    pub floor: f64,
    /// Nor rises above this multiple of it.
    pub ceiling: f64,
    /// A false positive must end this share below the threshold, a true positive this share
    /// above it, before its verdict stops moving weights.
    pub margin: f64,
}

impl Default for LearnConfig {
    fn default() -> Self {
        LearnConfig {
            rate: 0.1,
            floor: 0.5,
            ceiling: 2.0,
            margin: 0.1,
        }
    }
}

/// The weights after learning from `judged` (in order), bounded around `prior`; `Ok(None)` when
/// no verdict asked for a change. The threshold is not learned: it stays the engineer's.
pub fn update(
    current: &WeightSet,
    prior: &WeightSet,
    judged: &[Judged],
    config: &LearnConfig,
) -> Result<Option<WeightSet>, WeightError> {
    let mut weights = current.weights.clone();
    let threshold = current.threshold;
    let mut moved = false;
    for verdict in judged {
        let score: f64 = verdict
            .values
            .iter()
            .map(|(feature, value)| weights.get(feature).copied().unwrap_or(0.0) * value)
            .sum();
        let direction = match verdict.label {
            Label::FalsePositive if score >= threshold * (1.0 - config.margin) => -1.0,
            Label::BenignTruePositive if score >= threshold * (1.0 - config.margin) => -0.5,
            Label::TruePositive if score < threshold * (1.0 + config.margin) => 1.0,
            _ => continue,
        };
        for (feature, value) in &verdict.values {
            let (Some(weight), Some(&base)) =
                (weights.get_mut(feature), prior.weights.get(feature))
            else {
                continue;
            };
            let next = (*weight * (direction * config.rate * value).exp())
                .clamp(base * config.floor, base * config.ceiling);
            moved |= (next - *weight).abs() > 1e-12;
            *weight = next;
        }
    }
    if !moved {
        return Ok(None);
    }
    // Keep the examples right: shrink the step (geometrically, towards the current weights)
    // until the set passes, or give up on it.
    let mut share = 1.0;
    for _ in 0..12 {
        let candidate = WeightSet {
            version: current.version + 1,
            weights: current
                .weights
                .iter()
                .map(|(feature, old)| {
                    let new = weights.get(feature).copied().unwrap_or(*old);
                    (*feature, old.powf(1.0 - share) * new.powf(share))
                })
                .collect(),
            threshold,
        };
        match candidate.check() {
            Ok(()) => return Ok(Some(candidate)),
            Err(WeightError::Example(_)) => share /= 2.0,
            Err(error) => return Err(error),
        }
    }
    Ok(None)
}

/// How many findings (their feature values) would land on the other side of the threshold
/// under `new` than under `old`: what a weight change does to the open findings.
pub fn threshold_crossings(
    findings: &[BTreeMap<Feature, f64>],
    old: &WeightSet,
    new: &WeightSet,
) -> usize {
    let score = |weights: &WeightSet, values: &BTreeMap<Feature, f64>| -> f64 {
        values.iter().map(|(f, v)| weights.weight(*f) * v).sum()
    };
    findings
        .iter()
        .filter(|values| {
            (score(old, values) >= old.threshold) != (score(new, values) >= new.threshold)
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(values: &[(&str, f64)], label: Label) -> Judged {
        Judged {
            values: values
                .iter()
                .map(|(f, v)| (f.parse().unwrap(), *v))
                .collect(),
            label,
        }
    }

    #[test]
    fn false_positives_lower_the_features_that_fired_and_nothing_else() {
        let prior = WeightSet::default();
        // A tenant whose staff all use a commercial VPN: new hosting networks and countries.
        let vpn = judged(
            &[
                ("hosting_network", 1.0),
                ("new_country", 0.9),
                ("new_network", 1.0),
                ("novel_network_change", 0.6),
            ],
            Label::FalsePositive,
        );
        let updated = update(&prior, &prior, &[vpn.clone(), vpn], &LearnConfig::default())
            .unwrap()
            .unwrap();
        assert_eq!(updated.version, prior.version + 1);
        assert!(updated.weight(Feature::HostingNetwork) < prior.weight(Feature::HostingNetwork));
        assert!(updated.weight(Feature::NewCountry) < prior.weight(Feature::NewCountry));
        assert_eq!(
            updated.weight(Feature::Interleaving),
            prior.weight(Feature::Interleaving)
        );
        assert_eq!(
            updated.weight(Feature::RiskyAfterChange),
            prior.weight(Feature::RiskyAfterChange)
        );
        assert_eq!(updated.threshold, prior.threshold);
    }

    #[test]
    fn weights_stay_within_their_bounds_and_the_examples_hold() {
        let prior = WeightSet::default();
        let config = LearnConfig::default();
        let noisy = judged(
            &[
                ("novel_network_change", 1.0),
                ("client_change", 1.0),
                ("no_fresh_signin", 1.0),
                ("risky_after_change", 1.0),
                ("new_network", 1.0),
            ],
            Label::FalsePositive,
        );
        let mut weights = prior.clone();
        for _ in 0..50 {
            if let Some(next) =
                update(&weights, &prior, std::slice::from_ref(&noisy), &config).unwrap()
            {
                weights = next;
            }
        }
        for (feature, weight) in &weights.weights {
            let base = prior.weight(*feature);
            assert!(*weight >= base * config.floor - 1e-9, "{feature} {weight}");
            assert!(
                *weight <= base * config.ceiling + 1e-9,
                "{feature} {weight}"
            );
        }
        // The replay example must still reach the threshold, however many verdicts say no.
        assert!(weights.check().is_ok());
    }

    #[test]
    fn crossings_count_findings_that_change_side() {
        let old = WeightSet::default();
        let mut new = old.clone();
        new.weights.insert(Feature::HostingNetwork, 0.25);
        let vpn: BTreeMap<Feature, f64> = [
            ("hosting_network", 1.0),
            ("new_network", 1.0),
            ("new_country", 1.0),
            ("no_fresh_signin", 1.0),
        ]
        .iter()
        .map(|(f, v)| (f.parse().unwrap(), *v))
        .collect();
        let attack: BTreeMap<Feature, f64> = [("risky_after_change", 1.0), ("interleaving", 1.0)]
            .iter()
            .map(|(f, v)| (f.parse().unwrap(), *v))
            .collect();
        // 3.4 → 2.65 crosses 3.0; 4.5 stays.
        assert_eq!(threshold_crossings(&[vpn, attack], &old, &new), 1);
    }

    #[test]
    fn a_missed_true_positive_raises_its_features_and_a_settled_one_changes_nothing() {
        let prior = WeightSet::default();
        let weak = judged(
            &[("interleaving", 1.0), ("new_network", 0.5)],
            Label::TruePositive,
        );
        let raised = update(&prior, &prior, &[weak], &LearnConfig::default())
            .unwrap()
            .unwrap();
        assert!(raised.weight(Feature::Interleaving) > prior.weight(Feature::Interleaving));
        let strong = judged(
            &[
                ("risky_after_change", 1.0),
                ("novel_network_change", 1.0),
                ("interleaving", 1.0),
            ],
            Label::TruePositive,
        );
        assert_eq!(
            update(&prior, &prior, &[strong], &LearnConfig::default()).unwrap(),
            None
        );
    }
}

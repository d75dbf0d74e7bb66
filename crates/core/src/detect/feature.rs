//! The features a session is scored on: their names, default weights and meanings, in one
//! place. Weight sets, reasons and verdict samples key on [`Feature`]; its name is what
//! storage, JSON, the CLI and the API carry.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Declares the enum and its table at once, so a feature cannot lack a name or a weight.
macro_rules! features {
    ($($variant:ident = $name:literal, $weight:literal, $meaning:literal;)+) => {
        /// One of a session's deviations from its user's normal, each valued in [0, 1].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Feature {
            $(
                #[doc = $meaning]
                $variant,
            )+
        }

        impl Feature {
            /// Every feature, in the order the engine computes them.
            pub const ALL: &'static [Feature] = &[$(Feature::$variant),+];

            /// The name weight sets, reasons and the API use.
            pub fn name(self) -> &'static str {
                match self {
                    $(Feature::$variant => $name,)+
                }
            }

            /// What it means, in an analyst's words.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(Feature::$variant => $meaning,)+
                }
            }

            /// The weight of the default weight set.
            pub fn default_weight(self) -> f64 {
                match self {
                    $(Feature::$variant => $weight,)+
                }
            }

        }
    };
}

features! {
    NovelNetworkChange = "novel_network_change", 2.0,
        "the session moved to a network new for the user";
    ClientChange = "client_change", 1.5,
        "the session changed operating system or device mid-way";
    UnattestedSignin = "unattested_signin", 2.0,
        "sign-ins without the session's device id from a network the device never used";
    HostingSignin = "hosting_signin", 2.0,
        "an interactive sign-in from hosting infrastructure no device of the session vouches for";
    Interleaving = "interleaving", 2.5,
        "two networks alternated within an hour: two parties using one session";
    ImpossibleTravel = "impossible_travel", 1.5,
        "consecutive countries too far apart for the time between them";
    HostingNetwork = "hosting_network", 1.0,
        "a hosting, cloud or VPN network new for the user";
    NewCountry = "new_country", 0.8,
        "a country new for the user";
    NewNetwork = "new_network", 0.6,
        "a network new for the user";
    ToolClient = "tool_client", 1.0,
        "a script or tool client (python-requests, curl...) new for the user";
    NoFreshSignin = "no_fresh_signin", 1.0,
        "a new network used past an access token's lifetime without an interactive sign-in from it";
    RevivedSession = "revived_session", 1.5,
        "the session came back after a day or more, from a new network";
    RiskyAfterChange = "risky_after_change", 2.0,
        "inbox rules, forwarding, MFA or consent changes after a context change";
    RiskyAny = "risky_any", 0.3,
        "a risky operation anywhere in the session";
    OpVolume = "op_volume", 0.5,
        "far more operations than the user's sessions usually have";
    OffHours = "off_hours", 0.3,
        "activity in hours the user is rarely active";
}

/// A name that is no feature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown feature {0:?}")]
pub struct UnknownFeature(pub String);

impl FromStr for Feature {
    type Err = UnknownFeature;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Feature::ALL
            .iter()
            .copied()
            .find(|f| f.name() == text.trim())
            .ok_or_else(|| UnknownFeature(text.to_owned()))
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

// Ordered by name, so weight sets list (and serialize) their features alphabetically.
impl Ord for Feature {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.name().cmp(other.name())
    }
}

impl PartialOrd for Feature {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Serialize for Feature {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Feature {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_feature_reads_back_from_its_name() {
        for feature in Feature::ALL {
            assert_eq!(feature.name().parse::<Feature>(), Ok(*feature));
            let json = serde_json::to_string(feature).unwrap();
            assert_eq!(serde_json::from_str::<Feature>(&json).unwrap(), *feature);
            assert!(feature.default_weight() > 0.0);
        }
        assert_eq!(
            "vibes".parse::<Feature>(),
            Err(UnknownFeature("vibes".to_owned()))
        );
    }
}

//! Suppressions: contexts an analyst marked as expected (the tenant's VPN egress ASN, a
//! travelling user's country, a known device), for the whole tenant or one user, until they
//! expire. A suppressed context still counts, at a quarter of its novelty: a suppression lowers
//! the evidence of the features it touches and never hides a session, so an attacker who
//! happens to come from a suppressed network still shows every other change.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::detect::baseline::Kind;
use crate::detect::context_key::ContextKey;
use crate::detect::session::Seen;

/// What is left of a suppressed context's novelty.
pub const SUPPRESSED_NOVELTY: f64 = 0.25;

/// What a suppression matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// An ASN (`AS8075`): the network, and its prefixes and network-client pairs.
    Asn,
    /// An IP prefix (`203.0.113.0/24`, `2001:db8:1::/48`), as the engine cuts them.
    Prefix,
    /// A country code (`NL`).
    Country,
    /// A browser family (`Firefox`), on any OS.
    Browser,
    /// An OS family (`Linux`), with any browser.
    Os,
    /// A device id.
    Device,
    /// A network with a client (`AS3320#Chrome/Windows/browser`).
    NetworkClient,
}

/// One suppression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suppression {
    /// The user it applies to (compared case-insensitively); the whole tenant when `None`.
    pub user: Option<String>,
    /// What it matches.
    pub target: Target,
    /// The value, normalized by [`Suppression::new`].
    pub value: String,
    /// Events at or after this time are no longer suppressed.
    pub expires: Option<DateTime<Utc>>,
}

impl Suppression {
    /// A suppression with its value checked and normalized; the error says what is wrong.
    pub fn new(
        user: Option<String>,
        target: Target,
        value: &str,
        expires: Option<DateTime<Utc>>,
    ) -> Result<Self, String> {
        let value = value.trim();
        let value = match target {
            Target::Asn => {
                let digits = value
                    .strip_prefix("AS")
                    .or_else(|| value.strip_prefix("as"))
                    .unwrap_or(value);
                let asn: u32 = digits
                    .parse()
                    .map_err(|_| format!("{value:?} is not an ASN (AS8075 or 8075)"))?;
                format!("AS{asn}")
            }
            Target::Prefix => {
                let (address, bits) = value
                    .split_once('/')
                    .ok_or_else(|| format!("{value:?} is not a prefix (203.0.113.0/24)"))?;
                let address: std::net::IpAddr = address
                    .parse()
                    .map_err(|_| format!("{value:?} is not a prefix (203.0.113.0/24)"))?;
                let bits: u8 = bits
                    .parse()
                    .map_err(|_| format!("{value:?} is not a prefix (203.0.113.0/24)"))?;
                // The engine keeps /24 (IPv4) and /48 (IPv6) prefixes.
                let cut = crate::ip::prefix(address);
                if (address.is_ipv4() && bits != 24) || (address.is_ipv6() && bits != 48) {
                    return Err(format!(
                        "{value:?}: give the /24 (IPv4) or /48 (IPv6) prefix the engine keeps, here {cut}"
                    ));
                }
                cut
            }
            Target::Country => {
                if value.len() != 2 || !value.chars().all(|c| c.is_ascii_alphabetic()) {
                    return Err(format!("{value:?} is not a two-letter country code"));
                }
                value.to_ascii_uppercase()
            }
            Target::Browser | Target::Os | Target::Device | Target::NetworkClient => {
                if value.is_empty() {
                    return Err("the value is empty".to_owned());
                }
                value.to_owned()
            }
        };
        Ok(Suppression {
            user: user
                .map(|u| u.trim().to_lowercase())
                .filter(|u| !u.is_empty()),
            target,
            value,
            expires,
        })
    }

    /// A suppression as stored: the target by name (`asn`, `network_client`...), the user
    /// empty for the whole tenant.
    pub fn from_stored(
        user: &str,
        target: &str,
        value: &str,
        expires: Option<DateTime<Utc>>,
    ) -> Result<Self, String> {
        let target: Target = serde_json::from_value(serde_json::Value::String(target.to_owned()))
            .map_err(|_| format!("unknown suppression kind {target:?}"))?;
        let user = Some(user.to_owned()).filter(|u| !u.is_empty());
        Suppression::new(user, target, value, expires)
    }

    /// The target's stored name.
    pub fn target_name(&self) -> &'static str {
        match self.target {
            Target::Asn => "asn",
            Target::Prefix => "prefix",
            Target::Country => "country",
            Target::Browser => "browser",
            Target::Os => "os",
            Target::Device => "device",
            Target::NetworkClient => "network_client",
        }
    }

    fn applies(&self, user: &str, at: DateTime<Utc>) -> bool {
        self.expires.is_none_or(|expires| at < expires)
            && self
                .user
                .as_deref()
                .is_none_or(|u| u.eq_ignore_ascii_case(user))
    }

    /// Whether a context the engine keeps as `kind` with `value` is this suppression's.
    fn matches(&self, kind: Kind, value: &str) -> bool {
        let v = self.value.as_str();
        match (self.target, kind) {
            (Target::Asn, Kind::Network) => value == v,
            (Target::Asn, Kind::Prefix | Kind::NetworkClient) => {
                ContextKey::parse(value).is_some_and(|key| key.network == v)
            }
            // A network without an ASN is its prefix.
            (Target::Prefix, Kind::Network) => value == v,
            (Target::Prefix, Kind::Prefix) => {
                ContextKey::parse(value).is_some_and(|key| key.prefix == Some(v))
            }
            (Target::Country, Kind::Country) => value == v,
            (Target::Browser, Kind::Client) => value
                .split('/')
                .next()
                .is_some_and(|b| b.eq_ignore_ascii_case(v)),
            (Target::Os, Kind::Client) => value
                .split('/')
                .nth(1)
                .is_some_and(|os| os.eq_ignore_ascii_case(v)),
            (Target::Device, Kind::Device) => value == v,
            (Target::NetworkClient, Kind::NetworkClient) => value == v,
            _ => false,
        }
    }
}

/// A tenant's suppressions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Suppressions {
    /// All of them, expired or not (expiry is checked against each event's time).
    pub list: Vec<Suppression>,
}

impl Suppressions {
    /// No suppressions.
    pub fn none() -> &'static Suppressions {
        static NONE: Suppressions = Suppressions { list: Vec::new() };
        &NONE
    }

    /// The view the features of one user's session at `at` see.
    pub fn for_user<'a>(&'a self, user: &'a str, at: DateTime<Utc>) -> Suppressed<'a> {
        Suppressed {
            suppressions: self,
            user,
            at,
        }
    }
}

/// Suppressions as they apply to one user at one time.
#[derive(Debug, Clone, Copy)]
pub struct Suppressed<'a> {
    suppressions: &'a Suppressions,
    user: &'a str,
    at: DateTime<Utc>,
}

impl Suppressed<'_> {
    /// Whether the context is suppressed.
    pub fn covers(&self, kind: Kind, value: &str) -> bool {
        self.suppressions
            .list
            .iter()
            .any(|s| s.applies(self.user, self.at) && s.matches(kind, value))
    }

    /// A context's novelty, lowered when it is suppressed.
    pub fn novelty(&self, kind: Kind, seen: &Seen) -> f64 {
        self.scaled(kind, seen, f64::from(seen.novelty))
    }

    /// `value` (a novelty of the context), lowered when the context is suppressed.
    pub fn scaled(&self, kind: Kind, seen: &Seen, value: f64) -> f64 {
        let asn_covered = || {
            matches!(kind, Kind::Network | Kind::Prefix | Kind::NetworkClient)
                && seen.asns.iter().any(|asn| {
                    self.suppressions.list.iter().any(|s| {
                        s.target == Target::Asn
                            && s.applies(self.user, self.at)
                            && s.value == format!("AS{asn}")
                    })
                })
        };
        if self.covers(kind, &seen.value) || asn_covered() {
            value * SUPPRESSED_NOVELTY
        } else {
            value
        }
    }
}

/// A judged finding, as suggestions see it.
#[derive(Debug, Clone)]
pub struct Judged<'a> {
    /// Its id.
    pub finding_id: &'a str,
    /// Its user.
    pub user: &'a str,
    /// Whether the analyst called it an attack.
    pub attack: bool,
    /// The contexts its session showed: (kind, value, novelty), as the engine explains them
    /// (`network`, `country`, `device`...).
    pub contexts: Vec<(&'a str, &'a str, f64)>,
}

/// A suppression the analysts' verdicts argue for.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    /// The suppression (no expiry: the caller picks one).
    pub suppression: Suppression,
    /// The false-positive findings sharing the context.
    pub finding_ids: Vec<String>,
}

/// Contexts new to their users in this many false positives (or benign ones) are suggested.
pub const SUGGEST_AFTER: usize = 2;
/// Only contexts at least this new in a finding count: a known network present in every
/// session explains nothing.
const SUGGEST_NOVELTY: f64 = 0.5;

/// Suppressions suggested by repeated false positives sharing a context: a network (ASN or
/// prefix) or device new to its users in at least [`SUGGEST_AFTER`] of them (tenant-wide when
/// several users share it, else for the one user), a country for one travelling user. A context
/// that was also new in a true positive is never suggested: that is where an attacker came
/// from. Suggestions already in `existing` are left out; most supported first.
pub fn suggest(judged: &[Judged<'_>], existing: &Suppressions) -> Vec<Suggestion> {
    use std::collections::{BTreeMap, BTreeSet, HashSet};
    let target_of = |kind: &str, value: &str| match kind {
        "asn" => Some(Target::Asn),
        "network" if value.starts_with("AS") && value[2..].parse::<u32>().is_ok() => {
            Some(Target::Asn)
        }
        // Operators and allocations are named by their ASNs ("asn" contexts) instead.
        "network" => None,
        "country" => Some(Target::Country),
        "device" => Some(Target::Device),
        _ => None,
    };
    let novel = |j: &Judged<'_>| -> Vec<(Target, String)> {
        j.contexts
            .iter()
            .filter(|(_, _, novelty)| *novelty >= SUGGEST_NOVELTY)
            .filter_map(|(kind, value, _)| Some((target_of(kind, value)?, (*value).to_owned())))
            .collect()
    };
    let attackers: HashSet<(Target, String)> =
        judged.iter().filter(|j| j.attack).flat_map(novel).collect();
    // (target, value) → user → finding ids.
    let mut shared: BTreeMap<(Target, String), BTreeMap<String, BTreeSet<String>>> =
        BTreeMap::new();
    for j in judged.iter().filter(|j| !j.attack) {
        for context in novel(j) {
            if attackers.contains(&context) {
                continue;
            }
            shared
                .entry(context)
                .or_default()
                .entry(j.user.to_lowercase())
                .or_default()
                .insert(j.finding_id.to_owned());
        }
    }
    let mut suggestions = Vec::new();
    for ((target, value), users) in shared {
        let mut scopes: Vec<(Option<String>, Vec<String>)> = Vec::new();
        if users.len() >= 2 && target != Target::Country {
            scopes.push((None, users.values().flatten().cloned().collect()));
        } else {
            for (user, ids) in &users {
                scopes.push((Some(user.clone()), ids.iter().cloned().collect()));
            }
        }
        for (user, finding_ids) in scopes {
            if finding_ids.len() < SUGGEST_AFTER {
                continue;
            }
            let Ok(suppression) = Suppression::new(user, target, &value, None) else {
                continue;
            };
            let covered = existing.list.iter().any(|s| {
                s.target == suppression.target
                    && s.value == suppression.value
                    && (s.user.is_none() || s.user == suppression.user)
            });
            if !covered {
                suggestions.push(Suggestion {
                    suppression,
                    finding_ids,
                });
            }
        }
    }
    suggestions.sort_by_key(|s| std::cmp::Reverse(s.finding_ids.len()));
    suggestions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(day: u32) -> DateTime<Utc> {
        chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, day, 12, 0, 0).unwrap()
    }

    fn judged<'a>(
        id: &'a str,
        user: &'a str,
        attack: bool,
        contexts: &[(&'a str, &'a str, f64)],
    ) -> Judged<'a> {
        Judged {
            finding_id: id,
            user,
            attack,
            contexts: contexts.to_vec(),
        }
    }

    #[test]
    fn repeated_false_positives_suggest_their_shared_new_context_never_an_attackers() {
        let home = ("network", "AS1136", 0.0);
        let vpn = ("network", "AS64500", 0.9);
        let trip = ("country", "JP", 1.0);
        let attacker = ("network", "AS14061", 1.0);
        let verdicts = [
            judged("f1", "adele@contoso.com", false, &[home, vpn]),
            judged("f2", "ben@contoso.com", false, &[home, vpn]),
            judged("f3", "carl@contoso.com", false, &[vpn, trip]),
            judged("f4", "carl@contoso.com", false, &[trip, attacker]),
            judged("f5", "dana@contoso.com", true, &[home, attacker]),
            judged("f6", "erin@contoso.com", false, &[("country", "FR", 1.0)]),
        ];
        let suggestions = suggest(&verdicts, Suppressions::none());
        let shown: Vec<(Option<&str>, Target, &str, usize)> = suggestions
            .iter()
            .map(|s| {
                (
                    s.suppression.user.as_deref(),
                    s.suppression.target,
                    s.suppression.value.as_str(),
                    s.finding_ids.len(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            vec![
                (None, Target::Asn, "AS64500", 3),
                (Some("carl@contoso.com"), Target::Country, "JP", 2),
            ],
            "the attacker's ASN, a known network and a single trip are not suggested"
        );
        // Once suppressed, not suggested again.
        let existing = Suppressions {
            list: vec![suggestions[0].suppression.clone()],
        };
        assert_eq!(suggest(&verdicts, &existing).len(), 1);
    }

    #[test]
    fn values_are_checked_and_normalized() {
        let asn = Suppression::new(None, Target::Asn, "8075", None).unwrap();
        assert_eq!(asn.value, "AS8075");
        assert_eq!(
            Suppression::new(None, Target::Country, "nl", None)
                .unwrap()
                .value,
            "NL"
        );
        assert!(Suppression::new(None, Target::Asn, "Microsoft", None).is_err());
        assert!(Suppression::new(None, Target::Country, "NLD", None).is_err());
        let wide = Suppression::new(None, Target::Prefix, "203.0.113.0/16", None).unwrap_err();
        assert!(wide.contains("203.0.113.0/24"), "{wide}");
        let user = Suppression::new(
            Some(" Adele@Contoso.com ".into()),
            Target::Os,
            "Linux",
            None,
        );
        assert_eq!(user.unwrap().user.as_deref(), Some("adele@contoso.com"));
    }

    #[test]
    fn an_asn_covers_its_prefixes_and_pairs_for_its_user_until_it_expires() {
        let suppressions = Suppressions {
            list: vec![
                Suppression::new(
                    Some("adele@contoso.com".into()),
                    Target::Asn,
                    "AS8075",
                    Some(time(20)),
                )
                .unwrap(),
            ],
        };
        let adele = suppressions.for_user("Adele@contoso.com", time(10));
        assert!(adele.covers(Kind::Network, "AS8075"));
        assert!(adele.covers(Kind::NetworkClient, "AS8075#Chrome/Windows/browser"));
        assert!(adele.covers(Kind::Prefix, "AS8075#Chrome/Windows/browser|20.1.2.0/24"));
        assert!(!adele.covers(Kind::Network, "AS80750"));
        assert!(!adele.covers(Kind::Country, "AS8075"));
        assert!(
            !suppressions
                .for_user("ben@contoso.com", time(10))
                .covers(Kind::Network, "AS8075")
        );
        assert!(
            !suppressions
                .for_user("adele@contoso.com", time(20))
                .covers(Kind::Network, "AS8075")
        );
    }

    #[test]
    fn browsers_and_systems_match_their_part_of_the_client() {
        let suppressions = Suppressions {
            list: vec![
                Suppression::new(None, Target::Browser, "firefox", None).unwrap(),
                Suppression::new(None, Target::Os, "Linux", None).unwrap(),
            ],
        };
        let any = suppressions.for_user("x", time(1));
        assert!(any.covers(Kind::Client, "Firefox/Windows/browser"));
        assert!(any.covers(Kind::Client, "Chrome/Linux/browser"));
        assert!(!any.covers(Kind::Client, "Chrome/Windows/browser"));
    }
}

//! Networks as detection sees them: operators, not ASNs or addresses.
//!
//! A person's device moves between a few operators (home ISP, office line, carrier), each of
//! which announces its space from sibling ASNs and hands out ever new addresses. So a network
//! is the **operator**: the shipped sibling table (`data/operators.txt`), else the AS
//! organisation's name without its legal form, else the ASN. An address our IP data cannot
//! place is grouped by its allocation (IPv6 /32, IPv4 /16), never "new every time"; the
//! engine first asks what the tenant's sign-in logs taught it (Entra sign-ins carry
//! Microsoft's ASN and country for their address, see [`LearnedNetworks`]).
//!
//! Microsoft's own service addresses (Outlook mobile's mailbox access appears from them) say
//! nothing about where the user is, so records other than sign-ins from them carry no network.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::event::{Network, NormalizedEvent};

/// Microsoft's ASNs: its services act from there.
const MICROSOFT_ASNS: [u32; 4] = [8075, 8068, 8069, 12076];

/// The operator a sibling ASN belongs to, from the shipped table.
fn sibling_table() -> &'static HashMap<u32, &'static str> {
    static TABLE: OnceLock<HashMap<u32, &'static str>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = HashMap::new();
        for line in include_str!("../../data/operators.txt").lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            let Some((name, asns)) = line.split_once(':') else {
                continue;
            };
            for asn in asns
                .split_whitespace()
                .filter_map(|a| a.parse::<u32>().ok())
            {
                table.insert(asn, name.trim());
            }
        }
        table
    })
}

/// Legal forms and filler dropped from AS organisation names, so that "Vodafone GmbH" and
/// "VODAFONE GMBH." agree.
const LEGAL_FORMS: &[&str] = &[
    "inc",
    "llc",
    "ltd",
    "limited",
    "gmbh",
    "plc",
    "ag",
    "sa",
    "sas",
    "srl",
    "bv",
    "nv",
    "corp",
    "corporation",
    "co",
    "company",
    "ohg",
    "kg",
    "spa",
    "sau",
    "ab",
    "oy",
    "as",
    "pte",
    "the",
    "of",
    "america",
    "communications",
    "communication",
    "telecommunications",
    "enterprises",
];

/// The operator key of an ASN and its organisation name.
pub fn operator(asn: u32, as_org: Option<&str>) -> String {
    if let Some(name) = sibling_table().get(&asn) {
        return (*name).to_owned();
    }
    let normalized = as_org.map(normalize_org).unwrap_or_default();
    if normalized.is_empty() {
        format!("AS{asn}")
    } else {
        normalized
    }
}

/// An organisation name in lower case, without punctuation and legal forms.
fn normalize_org(org: &str) -> String {
    let lower = org.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric() && c != '&')
        .filter(|w| !w.is_empty() && !LEGAL_FORMS.contains(w))
        .collect();
    words.join(" ")
}

/// Words in an AS organisation's name that say it rents out servers: a hosting provider missing
/// from the shipped list is still hosting.
const HOSTING_WORDS: &[&str] = &[
    "hosting",
    "host",
    "hoster",
    "server",
    "servers",
    "datacenter",
    "datacenters",
    "dedicated",
    "vps",
    "colocation",
    "cloud",
];

/// Whether an AS organisation's name says it is a hosting provider.
pub fn hosting_by_name(as_org: &str) -> bool {
    let lower = as_org.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).collect();
    words.iter().any(|w| HOSTING_WORDS.contains(w))
        || words
            .windows(2)
            .any(|pair| pair == ["data", "center"] || pair == ["data", "centers"])
}

/// The allocation an address belongs to when no ASN is known: IPv6 /32, IPv4 /16.
pub fn allocation(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.0.0/16", o[0], o[1])
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}::/32", s[0], s[1])
        }
    }
}

/// The keys under which [`LearnedNetworks`] remembers an address: the /24 (IPv4) or /48
/// (IPv6) it was seen in, and its allocation.
fn learn_keys(ip: IpAddr) -> [String; 2] {
    [crate::ip::prefix(ip), allocation(ip)]
}

/// Whether an event's address is one of Microsoft's own services rather than the user's: a
/// record other than a sign-in from Microsoft's ASNs or its IPv6 space (2603:1000::/24, which
/// the IP data leaves partly unmapped).
pub fn service_address(event: &NormalizedEvent) -> bool {
    if event.operation == "SignIn" || event.operation == "UserLoggedIn" {
        return false;
    }
    let microsoft_v6 = matches!(event.ip, Some(IpAddr::V6(v6)) if v6.segments()[0] == 0x2603 && v6.segments()[1] >> 8 == 0x10);
    microsoft_v6
        || event
            .network
            .asn
            .is_some_and(|asn| MICROSOFT_ASNS.contains(&asn))
}

/// Whether the event's network is Microsoft's cloud (an interactive sign-in from there is a
/// proxy, not a person).
pub fn microsoft_cloud(asn: Option<u32>) -> bool {
    asn.is_some_and(|asn| MICROSOFT_ASNS.contains(&asn))
}

/// What a tenant's sign-in logs taught about its addresses: allocation → the network Microsoft
/// named for it (Entra sign-ins carry the ASN, and the country, of their address). Other
/// records from the same allocation (mailbox and file activity, enriched only from our IP
/// data) take Microsoft's word over ours: our data leaves much of 2003::/19 unmapped and maps
/// parts of a UK carrier's IPv4 space to hosting providers. Bounded: once full it stops
/// learning new allocations (deterministically, so online equals offline).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LearnedNetworks {
    by_allocation: HashMap<String, Network>,
}

/// Allocations a tenant remembers.
const LEARNED_MAX: usize = 20_000;

impl LearnedNetworks {
    /// Remembers what a sign-in log record says of its address.
    pub fn learn(&mut self, event: &NormalizedEvent) {
        let (Some(ip), Some(_)) = (event.ip, event.network.asn) else {
            return;
        };
        if event.operation != "SignIn" {
            return;
        }
        for key in learn_keys(ip) {
            if self.by_allocation.len() < LEARNED_MAX || self.by_allocation.contains_key(&key) {
                self.by_allocation.insert(key, event.network.clone());
            }
        }
    }

    /// The network Microsoft named for an event's address, when the event is not itself a
    /// sign-in record and our data says something else; `None` when there is nothing to
    /// correct. Microsoft's word for the same /24 or /48 always wins; its word for the wider
    /// allocation only where our data has no ASN, calls a place hosting that Microsoft does
    /// not, or puts it in another country (a carrier's CGNAT pool hands out addresses
    /// sign-ins have not shown yet).
    pub fn correction(&self, event: &NormalizedEvent) -> Option<Network> {
        if event.operation == "SignIn" {
            return None;
        }
        let [prefix, allocation] = learn_keys(event.ip?);
        let learned = self.by_allocation.get(&prefix).or_else(|| {
            self.by_allocation.get(&allocation).filter(|learned| {
                let ours_doubtful = event.network.asn.is_none()
                    || event.network.hosting
                    || event.network.country != learned.country;
                ours_doubtful && !learned.hosting
            })
        })?;
        (learned.asn != event.network.asn || learned.country != event.network.country).then(|| {
            Network {
                country: learned
                    .country
                    .clone()
                    .or_else(|| event.network.country.clone()),
                ..learned.clone()
            }
        })
    }
}

/// The network key of an event (its network already corrected, see [`LearnedNetworks`]): its
/// operator, else its allocation; `None` for no address or a Microsoft service address.
pub fn network_of(event: &NormalizedEvent) -> Option<String> {
    if service_address(event) {
        return None;
    }
    match (event.network.asn, event.ip) {
        (Some(asn), _) => Some(operator(asn, event.network.as_org.as_deref())),
        (None, Some(ip)) => Some(format!("unrouted {}", allocation(ip))),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sibling_asns_and_spellings_are_one_operator() {
        assert_eq!(operator(6167, Some("Verizon Business")), "verizon");
        assert_eq!(
            operator(22394, Some("Cellco Partnership DBA Verizon Wireless")),
            "verizon"
        );
        assert_eq!(
            operator(64500, Some("Example Networks GmbH")),
            operator(64501, Some("EXAMPLE NETWORKS GMBH."))
        );
        assert_ne!(
            operator(64500, Some("Example Networks GmbH")),
            operator(64502, Some("Other Networks GmbH"))
        );
        assert_eq!(operator(64503, None), "AS64503");
    }

    #[test]
    fn hosting_is_recognized_by_name() {
        assert!(hosting_by_name("UK Dedicated Servers Limited"));
        assert!(hosting_by_name("HOSTING INDUSTRY LIMITED"));
        assert!(hosting_by_name("Ace Data Centers II, L.L.C."));
        assert!(!hosting_by_name("Cloudflare, Inc."));
        assert!(!hosting_by_name("Deutsche Telekom AG"));
    }

    #[test]
    fn sign_ins_correct_what_our_data_says_of_their_addresses() {
        let record =
            |operation: &str, ip: &str, asn: Option<u32>, country: &str, hosting| NormalizedEvent {
                record_id: String::new(),
                source_format: crate::event::SourceFormat::ManagementActivity,
                event_time: chrono::DateTime::UNIX_EPOCH,
                tenant_hint: None,
                user_id: "user@contoso.com".to_owned(),
                user_object_id: None,
                session_id: None,
                session_id_source: None,
                token_id: None,
                ip: ip.parse().ok(),
                user_agent: None,
                device_id: None,
                client: Default::default(),
                operation: operation.to_owned(),
                workload: None,
                result_status: None,
                app_id: None,
                interactive: None,
                network: Network {
                    asn,
                    as_org: None,
                    country: Some(country.to_owned()),
                    hosting,
                },
            };
        let mut learned = LearnedNetworks::default();
        // Microsoft says a UK carrier's address is the carrier's, in GB.
        learned.learn(&record("SignIn", "2.27.126.4", Some(12576), "GB", false));
        // Our data calls a neighbour in the same /24 a hosting provider abroad: corrected.
        let mailbox = record("MailItemsAccessed", "2.27.126.99", Some(211826), "US", true);
        let corrected = learned.correction(&mailbox).unwrap();
        assert_eq!(
            (corrected.asn, corrected.country.as_deref()),
            (Some(12576), Some("GB"))
        );
        assert!(!corrected.hosting);
        // Elsewhere in the carrier's /16, only where our data is doubtful.
        let pool = record("Send", "2.27.200.1", Some(47583), "NL", true);
        assert_eq!(learned.correction(&pool).unwrap().asn, Some(12576));
        let fine = record("Send", "2.27.201.1", Some(12576), "GB", false);
        assert!(learned.correction(&fine).is_none());
        // A sign-in keeps its own word; an unrelated address has nothing to learn from.
        assert!(
            learned
                .correction(&record("SignIn", "2.27.126.99", Some(1), "US", false))
                .is_none()
        );
        assert!(
            learned
                .correction(&record("Send", "81.2.3.4", Some(1), "US", false))
                .is_none()
        );
    }

    #[test]
    fn unknown_addresses_group_by_allocation() {
        let a: IpAddr = "2003:39e:ef3b:1::1".parse().unwrap();
        let b: IpAddr = "2003:39e:1234::9".parse().unwrap();
        assert_eq!(allocation(a), allocation(b));
        assert_eq!(allocation(a), "2003:39e::/32");
        assert_eq!(allocation("81.2.3.4".parse().unwrap()), "81.2.0.0/16");
    }
}

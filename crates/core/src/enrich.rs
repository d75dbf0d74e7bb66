//! IP enrichment: ASN and AS organisation (sorted ranges, binary search), country (MMDB), and
//! whether the ASN belongs to a hosting, cloud or VPN provider (a list shipped with the code,
//! `data/hosting_asns.txt`).
//!
//! The data is the npm packages `@ip-location-db/asn` (CSV ranges) and
//! `@ip-location-db/geo-whois-asn-country-mmdb`, unpacked by `make ipdb` into one directory:
//! `asn/asn-ipv4-num.csv`, `asn/asn-ipv6-num.csv`, `geo/geo-whois-asn-country.mmdb`.

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::Path;

use crate::detect::network::hosting_by_name;
use crate::event::{Network, NormalizedEvent};

/// Why the IP data could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum EnrichError {
    /// A file is missing or unreadable.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A CSV line does not hold `start,end,asn,organisation`.
    #[error("{path} line {line}: {reason}")]
    Csv {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The MMDB file is not a MaxMind database.
    #[error("invalid country database {path}: {reason}")]
    Mmdb {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// An inclusive address range and its AS.
#[derive(Debug, Clone, Copy)]
struct AsRange<T> {
    start: T,
    end: T,
    asn: u32,
    org: u32,
}

/// IP → network facts, loaded once and shared.
pub struct IpDb {
    v4: Vec<AsRange<u32>>,
    v6: Vec<AsRange<u128>>,
    orgs: Vec<Box<str>>,
    countries: Option<maxminddb::Reader<Vec<u8>>>,
    hosting: HashSet<u32>,
    /// Each ASN's organisation (an index into `orgs`), for ASNs a record names itself.
    org_by_asn: std::collections::HashMap<u32, u32>,
}

impl std::fmt::Debug for IpDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpDb")
            .field("v4_ranges", &self.v4.len())
            .field("v6_ranges", &self.v6.len())
            .field("countries", &self.countries.is_some())
            .finish_non_exhaustive()
    }
}

/// The shipped list of hosting, cloud and VPN ASNs.
pub fn hosting_asns() -> HashSet<u32> {
    include_str!("../data/hosting_asns.txt")
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter_map(|first| first.parse().ok())
        .collect()
}

impl IpDb {
    /// Loads the directory `make ipdb` fills.
    pub fn load(dir: &Path) -> Result<Self, EnrichError> {
        let read = |relative: &str| {
            let path = dir.join(relative);
            std::fs::read(&path).map_err(|source| EnrichError::Read {
                path: path.display().to_string(),
                source,
            })
        };
        let v4 = read("asn/asn-ipv4-num.csv")?;
        let v6 = read("asn/asn-ipv6-num.csv")?;
        let mmdb_path = dir.join("geo/geo-whois-asn-country.mmdb");
        let mmdb = read("geo/geo-whois-asn-country.mmdb")?;
        let mut db = IpDb::from_asn_csv(&v4, &v6)?;
        db.countries =
            Some(
                maxminddb::Reader::from_source(mmdb).map_err(|e| EnrichError::Mmdb {
                    path: mmdb_path.display().to_string(),
                    reason: e.to_string(),
                })?,
            );
        Ok(db)
    }

    /// Builds the ASN tables from the `*-num.csv` contents (`start,end,asn,"organisation"`),
    /// without country data.
    pub fn from_asn_csv(v4_csv: &[u8], v6_csv: &[u8]) -> Result<Self, EnrichError> {
        let mut orgs = Vec::new();
        let mut org_index = std::collections::HashMap::new();
        let v4 = read_ranges(v4_csv, "asn-ipv4-num.csv", &mut orgs, &mut org_index)?;
        let v6 = read_ranges(v6_csv, "asn-ipv6-num.csv", &mut orgs, &mut org_index)?;
        let mut org_by_asn = std::collections::HashMap::new();
        for (asn, org) in v4.iter().map(|r| (r.asn, r.org)) {
            org_by_asn.entry(asn).or_insert(org);
        }
        for (asn, org) in v6.iter().map(|r| (r.asn, r.org)) {
            org_by_asn.entry(asn).or_insert(org);
        }
        Ok(IpDb {
            v4,
            v6,
            orgs,
            countries: None,
            hosting: hosting_asns(),
            org_by_asn,
        })
    }

    /// What is known about an address.
    pub fn lookup(&self, ip: IpAddr) -> Network {
        let range = match ip {
            IpAddr::V4(v4) => find(&self.v4, u32::from(v4)).map(|r| (r.asn, r.org)),
            IpAddr::V6(v6) => find(&self.v6, u128::from(v6)).map(|r| (r.asn, r.org)),
        };
        let country = self.countries.as_ref().and_then(|reader| {
            #[derive(serde::Deserialize)]
            struct Country {
                country_code: String,
            }
            reader
                .lookup(ip)
                .ok()?
                .decode::<Country>()
                .ok()
                .flatten()
                .map(|c| c.country_code)
        });
        Network {
            asn: range.map(|(asn, _)| asn),
            as_org: range
                .and_then(|(_, org)| self.orgs.get(org as usize))
                .map(|o| o.to_string()),
            country,
            hosting: range.is_some_and(|(asn, org)| {
                self.hosting.contains(&asn)
                    || self
                        .orgs
                        .get(org as usize)
                        .is_some_and(|name| hosting_by_name(name))
            }),
        }
    }

    /// Fills in an event's network facts from its IP. An ASN the record carries itself (Entra
    /// sign-ins name one) is Microsoft's word for the address and wins over ours; the AS
    /// organisation is then ours only when both agree.
    pub fn enrich(&self, event: &mut NormalizedEvent) {
        let Some(ip) = event.ip else { return };
        let found = self.lookup(ip);
        let own_country = event.network.country.take();
        event.network = match event.network.asn {
            Some(own) if found.asn != Some(own) => {
                let as_org = self.org_of(own);
                Network {
                    asn: Some(own),
                    hosting: self.hosting.contains(&own)
                        || as_org.as_deref().is_some_and(hosting_by_name),
                    as_org,
                    country: found.country,
                }
            }
            _ => found,
        };
        if own_country.is_some() {
            event.network.country = own_country;
        }
    }

    /// The organisation our data names for an ASN, from any of its ranges.
    fn org_of(&self, asn: u32) -> Option<String> {
        let org = *self.org_by_asn.get(&asn)?;
        self.orgs.get(org as usize).map(|o| o.to_string())
    }
}

/// The range holding `address`, if any (ranges are sorted and do not overlap).
fn find<T: Ord + Copy>(ranges: &[AsRange<T>], address: T) -> Option<&AsRange<T>> {
    let after = ranges.partition_point(|r| r.start <= address);
    let candidate = ranges.get(after.checked_sub(1)?)?;
    (address <= candidate.end).then_some(candidate)
}

fn read_ranges<T: std::str::FromStr + Ord + Copy>(
    csv_text: &[u8],
    name: &str,
    orgs: &mut Vec<Box<str>>,
    org_index: &mut std::collections::HashMap<Box<str>, u32>,
) -> Result<Vec<AsRange<T>>, EnrichError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(csv_text);
    let mut ranges = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut line = 0;
    loop {
        line += 1;
        let error = |reason: String| EnrichError::Csv {
            path: name.to_owned(),
            line,
            reason,
        };
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(error(e.to_string())),
        }
        let field = |i: usize| {
            record
                .get(i)
                .ok_or_else(|| error(format!("missing column {}", i + 1)))
        };
        let parse = |text: &str| {
            text.parse::<T>()
                .map_err(|_| error(format!("not a number: {text:?}")))
        };
        let start = parse(field(0)?)?;
        let end = parse(field(1)?)?;
        let asn: u32 = field(2)?
            .parse()
            .map_err(|_| error("the ASN is not a number".to_owned()))?;
        let org_name = field(3).unwrap_or_default();
        let org = match org_index.get(org_name) {
            Some(index) => *index,
            None => {
                let index = u32::try_from(orgs.len()).unwrap_or(u32::MAX);
                orgs.push(org_name.into());
                org_index.insert(org_name.into(), index);
                index
            }
        };
        ranges.push(AsRange {
            start,
            end,
            asn,
            org,
        });
    }
    ranges.sort_by_key(|r| r.start);
    Ok(ranges)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V4: &str = "16777216,16777471,13335,\"Cloudflare, Inc.\"\n\
                      134744064,134744319,15169,Google LLC\n\
                      3232235520,3232301055,64512,Private Example\n";
    const V6: &str = "42540488161975842760550356425300246528,42540488241204005274814694018844196863,6939,Hurricane Electric LLC\n";

    fn db() -> IpDb {
        IpDb::from_asn_csv(V4.as_bytes(), V6.as_bytes()).unwrap()
    }

    #[test]
    fn ranges_are_found_by_binary_search_and_inclusive() {
        let db = db();
        let cloudflare = db.lookup("1.0.0.1".parse().unwrap());
        assert_eq!(cloudflare.asn, Some(13335));
        assert_eq!(cloudflare.as_org.as_deref(), Some("Cloudflare, Inc."));
        assert!(!cloudflare.hosting);
        assert_eq!(db.lookup("1.0.0.255".parse().unwrap()).asn, Some(13335));
        assert_eq!(db.lookup("1.0.1.0".parse().unwrap()).asn, None);
        let google = db.lookup("8.8.8.8".parse().unwrap());
        assert_eq!((google.asn, google.hosting), (Some(15169), true));
        assert_eq!(db.lookup("0.0.0.1".parse().unwrap()), Network::default());
        assert_eq!(db.lookup("2001:0:1::1".parse().unwrap()).asn, Some(6939));
        assert_eq!(db.lookup("2001:db8::1".parse().unwrap()).asn, None);
    }

    #[test]
    fn bad_csv_says_where() {
        let error = IpDb::from_asn_csv(b"1,2,x,Org\n", b"").unwrap_err();
        assert!(error.to_string().contains("line 1"), "{error}");
    }

    #[test]
    fn the_hosting_list_parses_and_leaves_microsoft_out() {
        let hosting = hosting_asns();
        assert!(hosting.len() > 30);
        assert!(hosting.contains(&16509) && hosting.contains(&14061));
        assert!(!hosting.contains(&8075));
    }
}

//! Enrichment against the real ip-location-db data that `make test` fetches (`make ipdb`).

// Integration tests link every dependency of the package; only some are used here.
#![allow(unused_crate_dependencies)]

use std::path::PathBuf;

use tokenwatch_core::enrich::IpDb;

fn ipdb() -> IpDb {
    let dir = std::env::var("TOKENWATCH_IPDB").unwrap_or_else(|_| {
        panic!("TOKENWATCH_IPDB is not set: run `make test`, or `make ipdb up && source .run/env`")
    });
    IpDb::load(&PathBuf::from(dir)).expect("the IP data loads")
}

#[test]
fn well_known_addresses() {
    let db = ipdb();
    let cloudflare = db.lookup("1.1.1.1".parse().unwrap());
    assert_eq!(cloudflare.asn, Some(13335));
    assert!(cloudflare.as_org.unwrap().contains("Cloudflare"));
    let google = db.lookup("8.8.8.8".parse().unwrap());
    assert_eq!(google.asn, Some(15169));
    assert!(google.hosting, "Google is on the hosting list");
    assert_eq!(google.country.as_deref(), Some("US"));
    let google_v6 = db.lookup("2001:4860:4860::8888".parse().unwrap());
    assert_eq!(google_v6.asn, Some(15169));
    let private = db.lookup("10.1.2.3".parse().unwrap());
    assert_eq!((private.asn, private.country), (None, None));
    // The training lab's "attacker" address.
    let lab = db.lookup("175.45.176.99".parse().unwrap());
    assert_eq!(lab.country.as_deref(), Some("KP"));
}

//! Approximate country centroids (latitude, longitude), enough to tell a plausible trip from an
//! impossible one. Countries not listed give no travel speed rather than a wrong one.

const CENTROIDS: &[(&str, f64, f64)] = &[
    ("AE", 24.0, 54.0),
    ("AR", -34.0, -64.0),
    ("AT", 47.5, 14.5),
    ("AU", -25.0, 134.0),
    ("BE", 50.8, 4.5),
    ("BG", 42.7, 25.5),
    ("BR", -10.0, -52.0),
    ("CA", 56.0, -96.0),
    ("CH", 46.8, 8.2),
    ("CL", -33.5, -70.7),
    ("CN", 35.0, 103.0),
    ("CO", 4.6, -74.1),
    ("CZ", 49.8, 15.5),
    ("DE", 51.2, 10.4),
    ("DK", 56.0, 10.0),
    ("EE", 58.6, 25.0),
    ("EG", 26.8, 30.8),
    ("ES", 40.4, -3.7),
    ("FI", 64.0, 26.0),
    ("FR", 46.6, 2.2),
    ("GB", 54.0, -2.0),
    ("GR", 39.0, 22.0),
    ("HK", 22.3, 114.2),
    ("HU", 47.2, 19.5),
    ("ID", -2.5, 118.0),
    ("IE", 53.4, -8.2),
    ("IL", 31.5, 34.8),
    ("IN", 21.0, 78.0),
    ("IR", 32.4, 53.7),
    ("IS", 65.0, -18.0),
    ("IT", 42.8, 12.8),
    ("JP", 36.2, 138.3),
    ("KE", 0.0, 38.0),
    ("KP", 40.3, 127.5),
    ("KR", 36.5, 127.9),
    ("LT", 55.2, 23.9),
    ("LU", 49.8, 6.1),
    ("LV", 56.9, 24.6),
    ("MA", 31.8, -7.1),
    ("MX", 23.6, -102.5),
    ("MY", 4.2, 101.9),
    ("NG", 9.1, 8.7),
    ("NL", 52.1, 5.3),
    ("NO", 61.0, 8.5),
    ("NZ", -41.0, 174.0),
    ("PE", -9.2, -75.0),
    ("PH", 12.9, 121.8),
    ("PK", 30.4, 69.3),
    ("PL", 52.0, 19.1),
    ("PT", 39.6, -8.0),
    ("RO", 45.9, 24.9),
    ("RS", 44.0, 20.9),
    ("RU", 61.5, 105.3),
    ("SA", 23.9, 45.1),
    ("SE", 62.0, 15.0),
    ("SG", 1.35, 103.8),
    ("SK", 48.7, 19.7),
    ("TH", 15.9, 101.0),
    ("TR", 39.0, 35.2),
    ("TW", 23.7, 121.0),
    ("UA", 48.4, 31.2),
    ("US", 39.8, -98.6),
    ("VN", 14.1, 108.3),
    ("ZA", -30.6, 22.9),
];

/// The centroid of a country, by ISO 3166 alpha-2 code.
pub fn centroid(country: &str) -> Option<(f64, f64)> {
    CENTROIDS
        .iter()
        .find(|(code, _, _)| code.eq_ignore_ascii_case(country))
        .map(|(_, lat, lon)| (*lat, *lon))
}

/// Great-circle distance in kilometres between two countries' centroids.
pub fn distance_km(a: &str, b: &str) -> Option<f64> {
    let (lat1, lon1) = centroid(a)?;
    let (lat2, lon2) = centroid(b)?;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    Some(2.0 * 6371.0 * h.sqrt().asin())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_are_plausible() {
        let nl_us = distance_km("NL", "US").unwrap();
        assert!((7000.0..8500.0).contains(&nl_us), "{nl_us}");
        assert!(distance_km("NL", "BE").unwrap() < 300.0);
        assert_eq!(distance_km("NL", "XX"), None);
        assert_eq!(distance_km("nl", "NL"), Some(0.0));
    }
}

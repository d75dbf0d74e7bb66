//! Real public address ranges with the ASNs they belong to (from the ip-location-db data), so a
//! simulated address enriches to the network it claims to be.

use rand::Rng;
use rand::rngs::StdRng;

/// A network users or attackers appear from.
#[derive(Debug, Clone)]
pub(crate) struct Net {
    pub(crate) asn: u32,
    /// The holder, as the data names it (for people reading the catalogue).
    _name: &'static str,
    pub(crate) country: &'static str,
    /// First IPv4 address of the range and its size.
    start: u32,
    size: u32,
    /// A carrier: a fresh address (CGNAT, or an IPv6 privacy address) on every request.
    churn: bool,
    /// An IPv6 /64 the carrier hands out, for privacy addresses.
    v6: Option<u128>,
    /// A fixed address (a home line, an office, a proxy).
    fixed: Option<u32>,
}

const fn v4(a: u32, b: u32, c: u32, d: u32) -> u32 {
    (a << 24) | (b << 16) | (c << 8) | d
}

impl Net {
    const fn range(
        asn: u32,
        name: &'static str,
        country: &'static str,
        start: u32,
        size: u32,
    ) -> Net {
        Net {
            asn,
            _name: name,
            country,
            start,
            size,
            churn: false,
            v6: None,
            fixed: None,
        }
    }

    /// The same network with one fixed address in it.
    pub(crate) fn fixed(&self, rng: &mut StdRng) -> Net {
        let mut net = self.clone();
        net.fixed = Some(self.start + rng.random_range(1..self.size - 1));
        net.churn = false;
        net
    }

    /// What tells two uses of this network apart: its fixed address, or its range for a carrier.
    pub(crate) fn address_key(&self) -> String {
        match self.fixed {
            Some(ip) => std::net::Ipv4Addr::from(ip).to_string(),
            None => std::net::Ipv4Addr::from(self.start).to_string(),
        }
    }

    /// The address of one request.
    pub(crate) fn address(&self, rng: &mut StdRng) -> String {
        if let Some(ip) = self.fixed {
            return std::net::Ipv4Addr::from(ip).to_string();
        }
        if let Some(prefix) = self.v6
            && rng.random_bool(0.5)
        {
            let ip = prefix | u128::from(rng.random::<u64>());
            return std::net::Ipv6Addr::from(ip).to_string();
        }
        std::net::Ipv4Addr::from(self.start + rng.random_range(1..self.size - 1)).to_string()
    }
}

/// The catalogue.
#[derive(Debug)]
pub(crate) struct Networks {
    homes: Vec<(&'static str, Vec<Net>)>,
    carriers: Vec<(&'static str, Net)>,
    travel: Vec<Net>,
    hosting: Vec<Net>,
    vpn: Net,
    sase: Vec<Net>,
}

impl Networks {
    pub(crate) fn catalogue() -> Networks {
        let mut t_mobile = Net::range(21928, "T-Mobile USA", "US", v4(23, 18, 0, 0), 1 << 16);
        t_mobile.churn = true;
        t_mobile.v6 = Some(0x2001_4870_0150_0000_0000_0000_0000_0000);
        let carrier = |asn, name, country, start, size| {
            let mut net = Net::range(asn, name, country, start, size);
            net.churn = true;
            net
        };
        Networks {
            homes: vec![
                (
                    "NL",
                    vec![
                        Net::range(1136, "KPN", "NL", v4(31, 149, 0, 0), 1 << 16),
                        Net::range(
                            33915,
                            "Vodafone Libertel (Ziggo)",
                            "NL",
                            v4(24, 132, 0, 0),
                            1 << 16,
                        ),
                        Net::range(50266, "Odido", "NL", v4(31, 20, 0, 0), 1 << 17),
                    ],
                ),
                (
                    "DE",
                    vec![
                        Net::range(3320, "Deutsche Telekom", "DE", v4(2, 160, 0, 0), 1 << 20),
                        Net::range(3209, "Vodafone GmbH", "DE", v4(2, 200, 0, 0), 1 << 19),
                    ],
                ),
                (
                    "GB",
                    vec![
                        Net::range(
                            2856,
                            "British Telecommunications",
                            "GB",
                            v4(31, 48, 0, 0),
                            1 << 19,
                        ),
                        Net::range(1273, "Vodafone Group", "GB", v4(5, 28, 192, 0), 1 << 14),
                    ],
                ),
            ],
            carriers: vec![
                (
                    "NL",
                    carrier(50266, "Odido mobile", "NL", v4(5, 132, 0, 0), 1 << 15),
                ),
                (
                    "DE",
                    carrier(3320, "Telekom mobile", "DE", v4(31, 224, 0, 0), 1 << 21),
                ),
                (
                    "GB",
                    carrier(2856, "BT mobile", "GB", v4(31, 90, 0, 0), 1 << 17),
                ),
                ("US", t_mobile),
            ],
            travel: vec![
                Net::range(
                    3352,
                    "Telefonica de Espana",
                    "ES",
                    v4(2, 136, 0, 0),
                    1 << 19,
                ),
                Net::range(3269, "Telecom Italia", "IT", v4(2, 112, 0, 0), 1 << 19),
                Net::range(4713, "NTT Communications", "JP", v4(27, 114, 0, 0), 1 << 15),
                Net::range(7922, "Comcast", "US", v4(23, 24, 0, 0), 1 << 17),
            ],
            hosting: vec![
                Net::range(14061, "DigitalOcean", "", v4(5, 101, 96, 0), 1 << 12),
                Net::range(16276, "OVH", "", v4(51, 254, 0, 0), 1 << 17),
                Net::range(24940, "Hetzner", "", v4(5, 9, 0, 0), 1 << 16),
                Net::range(63949, "Akamai (Linode)", "", v4(23, 92, 16, 0), 1 << 12),
            ],
            vpn: Net::range(9009, "M247", "", v4(2, 56, 16, 0), 1 << 10),
            sase: vec![
                Net::range(62044, "Zscaler", "", v4(87, 58, 66, 0), 40 << 8),
                Net::range(62044, "Zscaler", "", v4(136, 226, 156, 0), 30 << 8),
                Net::range(62044, "Zscaler", "", v4(137, 31, 32, 0), 6 << 8),
            ],
        }
    }

    pub(crate) fn countries(&self) -> Vec<&'static str> {
        self.homes.iter().map(|(c, _)| *c).collect()
    }

    pub(crate) fn home(&self, rng: &mut StdRng, country: &str) -> Net {
        let homes = &self
            .homes
            .iter()
            .find(|(c, _)| *c == country)
            .expect("known country")
            .1;
        homes[rng.random_range(0..homes.len())].fixed(rng)
    }

    pub(crate) fn carrier(&self, country: &str) -> Net {
        self.carriers
            .iter()
            .find(|(c, _)| *c == country)
            .map(|(_, n)| n.clone())
            .expect("known country")
    }

    /// A hotel or guest network abroad.
    pub(crate) fn travel(&self, rng: &mut StdRng) -> Net {
        self.travel[rng.random_range(0..self.travel.len())].fixed(rng)
    }

    /// Another home ISP of the same country than `home` (a café, a friend's, a residential proxy).
    fn other_local(&self, rng: &mut StdRng, home: &Net) -> Net {
        let homes = &self
            .homes
            .iter()
            .find(|(c, _)| *c == home.country)
            .expect("known country")
            .1;
        let others: Vec<&Net> = homes.iter().filter(|n| n.asn != home.asn).collect();
        others[rng.random_range(0..others.len())].fixed(rng)
    }

    pub(crate) fn coffee_shop(&self, rng: &mut StdRng, home: &Net) -> Net {
        self.other_local(rng, home)
    }

    pub(crate) fn residential_proxy(&self, rng: &mut StdRng, home: &Net) -> Net {
        self.other_local(rng, home)
    }

    pub(crate) fn hosting(&self, rng: &mut StdRng) -> Net {
        self.hosting[rng.random_range(0..self.hosting.len())].fixed(rng)
    }

    pub(crate) fn vpn(&self, rng: &mut StdRng) -> Net {
        self.vpn.fixed(rng)
    }

    pub(crate) fn sase_exits(&self, rng: &mut StdRng) -> Vec<Net> {
        self.sase.iter().map(|n| n.fixed(rng)).collect()
    }
}

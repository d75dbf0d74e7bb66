//! Real public address ranges with the ASNs they belong to (from the ip-location-db data), so a
//! simulated address enriches to the network it claims to be.

use rand::Rng;
use rand::rngs::StdRng;

/// A network users or attackers appear from: an IPv4 range, and where the operator has them a
/// sibling ASN's range and an IPv6 block, as real operators announce their space.
#[derive(Debug, Clone)]
pub(crate) struct Net {
    pub(crate) asn: u32,
    /// The holder, as the data names it (for people reading the catalogue).
    _name: &'static str,
    pub(crate) country: &'static str,
    /// First IPv4 address of the range and its size.
    start: u32,
    size: u32,
    /// Another range of the same operator announced from a sibling ASN (Verizon's AS6167 and
    /// AS22394, BT's AS2856 and AS5400): a carrier hands out addresses from both.
    sibling: Option<(u32, u32, u32)>,
    /// A carrier: a fresh address (CGNAT, or an IPv6 privacy address) on every request.
    churn: bool,
    /// The operator's IPv6 block (ASN, first address, prefix length). A carrier draws a fresh
    /// /64 from it; a dual-stack home line keeps one /64 and a privacy address that changes
    /// daily. The ASN may be a sibling's, and the block may be one our IP data does not map
    /// (much of Deutsche Telekom's 2003::/19): sign-ins still carry Microsoft's ASN for it.
    v6: Option<(u32, u128, u8)>,
    /// A dual-stack home line's own /64 inside `v6`.
    home_v6: Option<u128>,
    /// A fixed address (a home line, an office, a proxy).
    fixed: Option<u32>,
}

/// One request's address and the ASN Microsoft's sign-in log attributes it to.
#[derive(Debug, Clone)]
pub(crate) struct Address {
    pub(crate) ip: String,
    pub(crate) asn: u32,
}

const fn v4(a: u32, b: u32, c: u32, d: u32) -> u32 {
    (a << 24) | (b << 16) | (c << 8) | d
}

/// An IPv6 address from its first four 16-bit groups.
const fn v6(a: u128, b: u128, c: u128, d: u128) -> u128 {
    (a << 112) | (b << 96) | (c << 80) | (d << 64)
}

/// A stable 64-bit mix, for interface ids that change once a day.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
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
            sibling: None,
            churn: false,
            v6: None,
            home_v6: None,
            fixed: None,
        }
    }

    const fn with_v6(mut self, asn: u32, prefix: u128, bits: u8) -> Net {
        self.v6 = Some((asn, prefix, bits));
        self
    }

    const fn with_sibling(mut self, asn: u32, start: u32, size: u32) -> Net {
        self.sibling = Some((asn, start, size));
        self
    }

    const fn carrier(mut self) -> Net {
        self.churn = true;
        self
    }

    /// A random /64 inside the operator's IPv6 block.
    fn random_64(rng: &mut StdRng, prefix: u128, bits: u8) -> u128 {
        let free = 64 - u32::from(bits);
        let subnet = u128::from(rng.random::<u64>() & ((1u64 << free) - 1));
        prefix | (subnet << 64)
    }

    /// The same network with one fixed address in it (and, if the operator has IPv6, the line's
    /// own /64: the home is dual-stack).
    pub(crate) fn fixed(&self, rng: &mut StdRng) -> Net {
        let mut net = self.clone();
        net.fixed = Some(self.start + rng.random_range(1..self.size - 1));
        net.churn = false;
        net.sibling = None;
        net.home_v6 = self
            .v6
            .map(|(_, prefix, bits)| Net::random_64(rng, prefix, bits));
        net
    }

    /// The same fixed line without IPv6 (an office behind an IPv4-only firewall).
    pub(crate) fn ipv4_only(mut self) -> Net {
        self.v6 = None;
        self.home_v6 = None;
        self
    }

    /// What tells two uses of this network apart: its fixed address, or its range for a carrier.
    pub(crate) fn address_key(&self) -> String {
        match self.fixed {
            Some(ip) => std::net::Ipv4Addr::from(ip).to_string(),
            None => std::net::Ipv4Addr::from(self.start).to_string(),
        }
    }

    /// The address of one request on `day` (days since the epoch): a dual-stack line answers
    /// over IPv6 about half the time, from a privacy address that changes daily.
    pub(crate) fn address(&self, rng: &mut StdRng, day: i64) -> Address {
        let v4 = |asn: u32, ip: u32| Address {
            ip: std::net::Ipv4Addr::from(ip).to_string(),
            asn,
        };
        if let Some(ip) = self.fixed {
            return match (self.home_v6, self.v6) {
                (Some(line), Some((asn, _, _))) if rng.random_bool(0.5) => {
                    let interface = mix(line as u64 ^ (line >> 64) as u64 ^ day as u64);
                    Address {
                        ip: std::net::Ipv6Addr::from(line | u128::from(interface)).to_string(),
                        asn,
                    }
                }
                _ => v4(self.asn, ip),
            };
        }
        if let Some((asn, prefix, bits)) = self.v6
            && rng.random_bool(0.5)
        {
            let ip = Net::random_64(rng, prefix, bits) | u128::from(rng.random::<u64>());
            return Address {
                ip: std::net::Ipv6Addr::from(ip).to_string(),
                asn,
            };
        }
        if let Some((asn, start, size)) = self.sibling
            && rng.random_bool(0.5)
        {
            return v4(asn, start + rng.random_range(1..size - 1));
        }
        v4(self.asn, self.start + rng.random_range(1..self.size - 1))
    }
}

/// The catalogue.
#[derive(Debug)]
pub(crate) struct Networks {
    homes: Vec<(&'static str, Vec<Net>)>,
    carriers: Vec<(&'static str, Vec<Net>)>,
    travel: Vec<Net>,
    hosting: Vec<Net>,
    vpn: Net,
    sase: Vec<Net>,
    microsoft: Net,
}

impl Networks {
    pub(crate) fn catalogue() -> Networks {
        Networks {
            homes: vec![
                (
                    "NL",
                    vec![
                        Net::range(1136, "KPN", "NL", v4(31, 149, 0, 0), 1 << 16).with_v6(
                            1136,
                            v6(0x2001, 0x980, 0, 0),
                            29,
                        ),
                        Net::range(
                            33915,
                            "Vodafone Libertel (Ziggo)",
                            "NL",
                            v4(24, 132, 0, 0),
                            1 << 16,
                        )
                        .with_v6(33915, v6(0x2001, 0x1c00, 0, 0), 23),
                        Net::range(50266, "Odido", "NL", v4(31, 20, 0, 0), 1 << 17).with_v6(
                            50266,
                            v6(0x2a02, 0x4240, 0, 0),
                            32,
                        ),
                    ],
                ),
                (
                    "DE",
                    vec![
                        // Telekom's home IPv6 (2003:200::/24 and more) is missing from the IP data.
                        Net::range(3320, "Deutsche Telekom", "DE", v4(2, 160, 0, 0), 1 << 20)
                            .with_v6(3320, v6(0x2003, 0x200, 0, 0), 24),
                        // Vodafone's cable IPv6 is announced by its sibling AS31334.
                        Net::range(3209, "Vodafone GmbH", "DE", v4(2, 200, 0, 0), 1 << 19).with_v6(
                            31334,
                            v6(0x2a02, 0x8100, 0, 0),
                            27,
                        ),
                    ],
                ),
                (
                    "GB",
                    vec![
                        // BT's broadband IPv6 is announced by its sibling AS5400.
                        Net::range(
                            2856,
                            "British Telecommunications",
                            "GB",
                            v4(31, 48, 0, 0),
                            1 << 19,
                        )
                        .with_v6(5400, v6(0x2a00, 0x2000, 0, 0), 22),
                        Net::range(1273, "Vodafone Group", "GB", v4(5, 28, 192, 0), 1 << 14),
                    ],
                ),
            ],
            carriers: vec![
                (
                    "NL",
                    vec![
                        Net::range(50266, "Odido mobile", "NL", v4(5, 132, 0, 0), 1 << 15)
                            .with_v6(50266, v6(0x2a02, 0x4240, 0, 0), 32)
                            .carrier(),
                    ],
                ),
                (
                    "DE",
                    vec![
                        Net::range(3320, "Telekom mobile", "DE", v4(31, 224, 0, 0), 1 << 21)
                            .with_v6(3320, v6(0x2a01, 0x598, 0, 0), 29)
                            .carrier(),
                        Net::range(3209, "Vodafone mobile", "DE", v4(5, 10, 160, 0), 1 << 13)
                            .with_v6(31334, v6(0x2a02, 0x8100, 0, 0), 27)
                            .carrier(),
                    ],
                ),
                (
                    "GB",
                    vec![
                        // EE (BT) hands out addresses from AS2856 and AS5400 alike.
                        Net::range(2856, "BT mobile", "GB", v4(31, 90, 0, 0), 1 << 17)
                            .with_sibling(5400, v4(31, 95, 96, 0), 1 << 13)
                            .with_v6(2856, v6(0x2a01, 0x4c8, 0, 0), 29)
                            .carrier(),
                    ],
                ),
                (
                    "US",
                    vec![
                        Net::range(21928, "T-Mobile USA", "US", v4(23, 18, 0, 0), 1 << 16)
                            .with_v6(21928, v6(0x2607, 0xfb90, 0, 0), 34)
                            .carrier(),
                        // Verizon's IPv4 from AS22394, its IPv6 from AS6167.
                        Net::range(22394, "Verizon Wireless", "US", v4(72, 98, 0, 0), 1 << 16)
                            .with_v6(6167, v6(0x2600, 0x1000, 0, 0), 30)
                            .carrier(),
                    ],
                ),
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
                Net::range(22616, "Zscaler", "", v4(136, 226, 0, 0), 22 << 8),
            ],
            // Exchange Online's own addresses: the client address of a share of Outlook
            // mobile's mailbox records (its cloud service syncs the mailbox). The IPv6 block
            // (2603:10a6::/32) is missing from the IP data.
            microsoft: Net::range(8075, "Microsoft", "", v4(52, 96, 0, 0), 1 << 20)
                .with_v6(8075, v6(0x2603, 0x10a6, 0, 0), 32)
                .carrier(),
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

    pub(crate) fn carrier(&self, rng: &mut StdRng, country: &str) -> Net {
        let carriers = &self
            .carriers
            .iter()
            .find(|(c, _)| *c == country)
            .expect("known country")
            .1;
        carriers[rng.random_range(0..carriers.len())].clone()
    }

    /// Exchange Online's service addresses.
    pub(crate) fn microsoft(&self) -> &Net {
        &self.microsoft
    }

    /// An office: a fixed line of the country's ISPs, IPv4 only.
    pub(crate) fn office(&self, rng: &mut StdRng, country: &str) -> Net {
        self.home(rng, country).ipv4_only()
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

    /// A residential proxy's exit: someone's home line, reached over IPv4.
    pub(crate) fn residential_proxy(&self, rng: &mut StdRng, home: &Net) -> Net {
        self.other_local(rng, home).ipv4_only()
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

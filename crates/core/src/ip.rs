//! Client IP addresses as the exports spell them: `1.2.3.4`, `1.2.3.4:51234`,
//! `[2a01:db8::1]:36185`, `::ffff:1.2.3.4`, sometimes garbage.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Reads a client IP, stripping ports and brackets and unwrapping IPv4-mapped IPv6 addresses.
/// Returns `None` for empty or unreadable values.
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let ip = if let Ok(ip) = text.parse::<IpAddr>() {
        ip
    } else if let Ok(socket) = text.parse::<SocketAddr>() {
        socket.ip()
    } else if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        inner.parse::<Ipv6Addr>().ok()?.into()
    } else {
        // `1.2.3.4:port` parses as a SocketAddr; what is left is garbage.
        return None;
    };
    Some(unmap(ip))
}

fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// The network prefix used to compare locations: /24 for IPv4, /48 for IPv6 (a site; privacy
/// addresses rotate within a /64 and providers hand out /48 to /64 per customer).
pub fn prefix(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{}/24", Ipv4Addr::new(a, b, c, 0))
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{}/48", Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0))
        }
    }
}

/// The /64 of an IPv6 address (one subnet: a home's or a phone's privacy addresses rotate
/// within it), `None` for IPv4.
pub fn subnet64(ip: IpAddr) -> Option<String> {
    match ip {
        IpAddr::V4(_) => None,
        IpAddr::V6(v6) => {
            let s = v6.segments();
            Some(format!(
                "{}/64",
                Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0)
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_brackets_and_mapped_addresses_are_cleaned() {
        let cases = [
            ("1.2.3.4", "1.2.3.4"),
            (" 1.2.3.4 ", "1.2.3.4"),
            ("1.2.3.4:51234", "1.2.3.4"),
            ("[2a01:111:f400:7eae::43]:36185", "2a01:111:f400:7eae::43"),
            ("[2a01:111:f400:7eae::43]", "2a01:111:f400:7eae::43"),
            ("2a01:111:f400:7eae::43", "2a01:111:f400:7eae::43"),
            ("::ffff:175.45.176.99", "175.45.176.99"),
            ("[::ffff:175.45.176.99]:443", "175.45.176.99"),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_ip(input).unwrap().to_string(), expected, "{input}");
        }
        for garbage in [
            "",
            "  ",
            "unknown",
            "1.2.3",
            "1.2.3.4.5",
            "300.1.1.1",
            "[1.2.3.4]",
            "<null>",
        ] {
            assert_eq!(parse_ip(garbage), None, "{garbage}");
        }
    }

    #[test]
    fn subnets() {
        assert_eq!(
            subnet64(parse_ip("2a01:111:f400:7eae::43").unwrap()).as_deref(),
            Some("2a01:111:f400:7eae::/64")
        );
        assert_eq!(subnet64(parse_ip("1.2.3.4").unwrap()), None);
    }

    #[test]
    fn prefixes() {
        assert_eq!(
            prefix(parse_ip("175.45.176.99").unwrap()),
            "175.45.176.0/24"
        );
        assert_eq!(
            prefix(parse_ip("2a01:111:f400:7eae::43").unwrap()),
            "2a01:111:f400::/48"
        );
    }
}

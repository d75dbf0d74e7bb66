//! Where tokenwatch's outbound HTTP may go.
//!
//! Webhook and PSA URLs are typed in by tenants' admins and analysts, so a URL pointing inside
//! the MSP's own network (a cloud metadata service at 169.254.169.254, an admin page on
//! loopback, a database on 10.x) would turn tokenwatch into a proxy into it (server-side request
//! forgery). [`Destinations`] refuses loopback, private, link-local, shared (CGNAT), multicast
//! and reserved addresses unless an operator allows a range (`--allow-private-networks`).
//!
//! The check runs twice: on the URL when it is registered ([`Destinations::check_url`], which
//! catches literal addresses and `localhost`), and on every address a name resolves to when a
//! request is sent ([`Destinations::client_builder`] installs a resolver that drops refused
//! addresses), so a name that later resolves inside (DNS rebinding) still gets nowhere.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;

/// Why a destination was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Not an http or https URL with a host.
    #[error("give an http or https URL")]
    NotHttp,
    /// The URL names an address (or `localhost`) outside the public internet.
    #[error(
        "{0} is a loopback, private, link-local or reserved address; an operator may allow its range with --allow-private-networks"
    )]
    Private(String),
}

/// The address ranges outbound requests may reach beyond the public internet.
#[derive(Debug, Clone, Default)]
pub struct Destinations {
    allowed: Vec<IpNet>,
}

impl Destinations {
    /// Public addresses only.
    pub fn public_only() -> Self {
        Destinations::default()
    }

    /// Public addresses and these ranges.
    pub fn allowing(allowed: Vec<IpNet>) -> Self {
        Destinations { allowed }
    }

    /// Reads a comma-separated list of ranges (`127.0.0.0/8,10.20.0.0/16`; a bare address is
    /// one host); empty means public only.
    pub fn parse(ranges: &str) -> Result<Self, String> {
        let allowed = ranges
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|range| {
                range
                    .parse::<IpNet>()
                    .or_else(|_| range.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{range:?} is not an address range (like 10.0.0.0/8)"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Destinations { allowed })
    }

    /// Whether requests may reach `ip`.
    pub fn permits(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        is_public(ip) || self.allowed.iter().any(|range| range.contains(&ip))
    }

    /// Checks a URL before it is stored or used: its scheme, and its host when the host is an
    /// address or `localhost`. Other names are checked as they resolve, by the client.
    pub fn check_url(&self, url: &reqwest::Url) -> Result<(), Refused> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refused::NotHttp);
        }
        match url.host() {
            None => Err(Refused::NotHttp),
            Some(url::Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip)),
            Some(url::Host::Domain(name)) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                if name == "localhost" || name.ends_with(".localhost") {
                    self.check_ip(IpAddr::V4(Ipv4Addr::LOCALHOST))
                        .map_err(|_| Refused::Private(name))
                } else {
                    Ok(())
                }
            }
        }
    }

    fn check_ip(&self, ip: IpAddr) -> Result<(), Refused> {
        if self.permits(ip) {
            Ok(())
        } else {
            Err(Refused::Private(ip.to_string()))
        }
    }

    /// A client builder whose name resolution drops the addresses these destinations refuse;
    /// a name left with none fails to connect, saying why. Callers still run
    /// [`Destinations::check_url`] on each URL, for literal addresses skip resolution.
    pub fn client_builder(self: &Arc<Self>) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver {
                destinations: Arc::clone(self),
            }))
            // A redirect could lead anywhere, including inside.
            .redirect(reqwest::redirect::Policy::none())
    }
}

/// Resolves with the system resolver, then keeps only permitted addresses.
#[derive(Debug)]
struct GuardedResolver {
    destinations: Arc<Destinations>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let destinations = Arc::clone(&self.destinations);
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let permitted: Vec<SocketAddr> = resolved
                .iter()
                .copied()
                .filter(|a| destinations.permits(a.ip()))
                .collect();
            if permitted.is_empty() && !resolved.is_empty() {
                let refused = Refused::Private(format!("{host} ({})", resolved[0].ip()));
                return Err(Box::new(refused) as Box<dyn std::error::Error + Send + Sync>);
            }
            let addresses: reqwest::dns::Addrs = Box::new(permitted.into_iter());
            Ok(addresses)
        })
    }
}

/// An IPv4 address written as IPv6 (`::ffff:10.0.0.1`) is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// Whether `ip` is an address of the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => is_public_v6(ip),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || a == 0 // "this network"
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16: cloud metadata services live here
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT), 100.64/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments, 192.0.0/24
        || ip.is_documentation()
        || (a == 198 && (b == 18 || b == 19)) // benchmarking, 198.18/15
        || ip.is_multicast()
        || a >= 240) // reserved and broadcast
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || ip.is_unique_local() // fc00::/7
        || ip.is_unicast_link_local() // fe80::/10
        || (first & 0xffc0) == 0xfec0 // deprecated site-local, fec0::/10
        || (first == 0x2001 && ip.segments()[1] == 0x0db8) // documentation
        || (first == 0x0064 && ip.segments()[1] == 0xff9b) // NAT64 may reach IPv4 inside
        || first == 0x2002 // 6to4 embeds an IPv4 address
        || ip.to_ipv4().is_some()) // IPv4-compatible (::a.b.c.d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> reqwest::Url {
        reqwest::Url::parse(s).unwrap()
    }

    #[test]
    fn inside_addresses_are_refused_and_public_ones_pass() {
        let public = Destinations::public_only();
        for inside in [
            "http://127.0.0.1/",
            "http://127.1.2.3:8080/hook",
            "http://0.0.0.0/",
            "http://10.1.2.3/",
            "http://172.16.0.1/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://100.64.0.1/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
            "http://[::1]/",
            "http://[::]/",
            "http://[fe80::1]/",
            "http://[fd00::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:169.254.169.254]/",
            "http://[64:ff9b::a00:1]/",
            "http://[2002:a00:1::]/",
            "http://localhost:9000/",
            "http://LOCALHOST./",
            "http://api.localhost/",
            // Integer and hex forms are parsed as the address they mean.
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0177.0.0.1/",
        ] {
            assert!(
                matches!(public.check_url(&url(inside)), Err(Refused::Private(_))),
                "{inside} passed"
            );
        }
        for outside in [
            "https://hooks.slack.com/services/T0/B0/x",
            "https://8.8.8.8/",
            "https://[2606:4700:4700::1111]/",
            "https://100.128.0.1/",
            "https://172.32.0.1/",
        ] {
            assert_eq!(public.check_url(&url(outside)), Ok(()), "{outside}");
        }
        for not_http in ["ftp://example.com/", "file:///etc/passwd", "gopher://x/"] {
            assert_eq!(public.check_url(&url(not_http)), Err(Refused::NotHttp));
        }
    }

    #[test]
    fn an_operator_may_allow_ranges() {
        let allowed = Destinations::parse("127.0.0.0/8, 10.20.0.0/16,fd12::1").unwrap();
        assert_eq!(allowed.check_url(&url("http://127.0.0.1:9/")), Ok(()));
        assert_eq!(allowed.check_url(&url("http://localhost:9/")), Ok(()));
        assert_eq!(allowed.check_url(&url("http://10.20.3.4/")), Ok(()));
        assert_eq!(allowed.check_url(&url("http://[fd12::1]/")), Ok(()));
        assert!(allowed.check_url(&url("http://10.21.0.1/")).is_err());
        assert!(allowed.check_url(&url("http://169.254.169.254/")).is_err());
        assert!(Destinations::parse("10.0.0.0/33").is_err());
        assert!(Destinations::parse("intranet").is_err());
        assert!(Destinations::parse("").unwrap().allowed.is_empty());
    }

    #[tokio::test]
    async fn a_name_resolving_inside_gets_nowhere() {
        // "localhost" resolves to loopback through the system resolver, as a rebinding name
        // would; the client refuses before connecting.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let guarded = Arc::new(Destinations::public_only());
        let client = guarded.client_builder().build().unwrap();
        let error = client
            .get(format!("http://localhost:{port}/"))
            .send()
            .await
            .unwrap_err();
        let mut chain = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            chain.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        assert!(
            chain.contains("localhost (127.0.0.1) is a loopback, private"),
            "{chain}"
        );

        let allowed = Arc::new(Destinations::parse("127.0.0.0/8,::1").unwrap());
        let client = allowed.client_builder().build().unwrap();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            use tokio::io::AsyncWriteExt;
            let mut buffer = [0u8; 1024];
            let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut buffer).await;
            socket
                .write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                .await
                .unwrap();
        });
        let response = client
            .get(format!("http://localhost:{port}/"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
        server.await.unwrap();
    }
}

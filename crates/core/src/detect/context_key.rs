//! How a network-and-client context, and an address block within it, are named in baselines
//! and sessions: `network#os` and `network#os|prefix` (`AS3320#Windows|2003:e1::/48`). The
//! keys are stored as text (baselines are serialized); this is the one place that writes and
//! reads them.

use std::fmt;

/// A context key, borrowed from its parts or from a stored key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextKey<'a> {
    /// The network: an ASN (`AS3320`), or the address block of an address no data places.
    pub network: &'a str,
    /// The client's operating system family, `-` when unknown.
    pub os: &'a str,
    /// The address block (/24 or /48), for a block key.
    pub prefix: Option<&'a str>,
}

impl<'a> ContextKey<'a> {
    /// A network used with an operating system.
    pub fn pair(network: &'a str, os: &'a str) -> Self {
        ContextKey {
            network,
            os,
            prefix: None,
        }
    }

    /// An address block of a network, used with an operating system.
    pub fn block(network: &'a str, os: &'a str, prefix: &'a str) -> Self {
        ContextKey {
            network,
            os,
            prefix: Some(prefix),
        }
    }

    /// Reads a stored key; `None` for text that is no context key.
    pub fn parse(text: &'a str) -> Option<Self> {
        let (network, rest) = text.split_once('#')?;
        Some(match rest.split_once('|') {
            Some((os, prefix)) => ContextKey::block(network, os, prefix),
            None => ContextKey::pair(network, rest),
        })
    }
}

/// The stored pair key a stored block key belongs to (`network#os`), without allocating: the
/// per-event path asks this of every address.
pub fn scope_of(key: &str) -> &str {
    key.split_once('|').map_or(key, |(scope, _)| scope)
}

/// Whether stored `key` is an address block within stored pair key `scope`.
pub fn is_block_in(key: &str, scope: &str) -> bool {
    key.strip_prefix(scope)
        .is_some_and(|rest| rest.starts_with('|'))
}

impl fmt::Display for ContextKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.network, self.os)?;
        match self.prefix {
            Some(prefix) => write!(f, "|{prefix}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_back_as_they_were_written() {
        let pair = ContextKey::pair("AS3320", "Windows");
        let block = ContextKey::block("AS3320", "Windows", "2003:e1::/48");
        assert_eq!(pair.to_string(), "AS3320#Windows");
        assert_eq!(block.to_string(), "AS3320#Windows|2003:e1::/48");
        assert_eq!(ContextKey::parse("AS3320#Windows"), Some(pair));
        assert_eq!(
            ContextKey::parse("AS3320#Windows|2003:e1::/48"),
            Some(block)
        );
        assert_eq!(ContextKey::parse("AS3320"), None);
        let unplaced = ContextKey::block("198.51.100.0/24", "-", "198.51.100.0/24").to_string();
        assert_eq!(
            ContextKey::parse(&unplaced).map(|k| k.network),
            Some("198.51.100.0/24")
        );
    }

    #[test]
    fn a_block_belongs_to_its_pair_only() {
        let block = "AS3320#Windows|2003:e1::/48";
        assert_eq!(scope_of(block), "AS3320#Windows");
        assert_eq!(scope_of("AS3320#Windows"), "AS3320#Windows");
        assert!(is_block_in(block, "AS3320#Windows"));
        assert!(!is_block_in(block, "AS3320#Win"));
        assert!(!is_block_in("AS3320#Windows", "AS3320#Windows"));
    }
}

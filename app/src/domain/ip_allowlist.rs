//! The addresses a key may be used from (docs/design.md#concepts, #verify-api), parsed from
//! what people type: lines, commas or spaces between entries.

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::net::IpAddr;

/// The addresses and ranges a key may be used from; empty means any.
/// Entries are normalised (host bits cleared, a single address as itself)
/// and each appears once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpAllowlist(Vec<IpNet>);

impl IpAllowlist {
    /// Most entries a key may hold.
    pub const MAX: usize = 100;
    /// Most bytes of the typed list: a hundred of the longest entries
    /// (`ffff:…:255.255.255.255/128`, 49 bytes) with room for separators.
    pub const MAX_BYTES: usize = 8 * 1024;

    /// Parses entries separated by lines, commas or spaces. The length is
    /// checked before anything is parsed and the count as entries are
    /// read, so the work is linear and bounded whatever was sent.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.len() > Self::MAX_BYTES {
            return Err(format!(
                "The list is {} bytes long; use at most {} addresses or ranges ({} bytes).",
                text.len(),
                Self::MAX,
                Self::MAX_BYTES
            ));
        }
        let mut nets: Vec<IpNet> = Vec::new();
        let mut seen = HashSet::new();
        for entry in text.split(|c: char| c == ',' || c.is_whitespace()).filter(|e| !e.is_empty()) {
            let net = parse_net(entry).ok_or_else(|| {
                format!(
                    "\u{201c}{}\u{201d} is not an IP address or range. Use one address or CIDR per line, like 203.0.113.7 or 10.0.0.0/8.",
                    entry.chars().take(60).collect::<String>()
                )
            })?;
            if seen.insert(net) {
                nets.push(net);
                if nets.len() > Self::MAX {
                    return Err(format!("Use at most {} addresses or ranges.", Self::MAX));
                }
            }
        }
        Ok(IpAllowlist(nets))
    }

    /// The stored form (one entry per line), read back.
    pub fn from_stored(stored: Option<&str>) -> Self {
        IpAllowlist(
            stored.unwrap_or_default().lines().filter_map(|l| parse_net(l.trim())).collect(),
        )
    }

    /// One entry per line, a single address without its `/32` or `/128`;
    /// `None` when empty.
    pub fn to_stored(&self) -> Option<String> {
        (!self.0.is_empty()).then(|| self.entries().join("\n"))
    }

    /// The entries as people write them.
    pub fn entries(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|n| {
                if n.prefix_len() == n.max_prefix_len() {
                    n.addr().to_string()
                } else {
                    n.to_string()
                }
            })
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` may use the key (any address when the list is empty).
    /// An IPv4 address written as IPv6 (`::ffff:a.b.c.d`) counts as IPv4.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.is_empty() || self.0.iter().any(|n| n.contains(&ip))
    }

    /// [`IpAllowlist::allows`] for an address as sent (`None`, or one that
    /// does not parse, is refused by a non-empty list).
    pub fn allows_text(&self, ip: Option<&str>) -> bool {
        self.0.is_empty()
            || ip.and_then(|s| s.trim().parse().ok()).is_some_and(|ip| self.allows(ip))
    }
}

fn parse_net(entry: &str) -> Option<IpNet> {
    let net = match entry.parse::<IpNet>() {
        Ok(net) => net,
        Err(_) => IpNet::from(entry.parse::<IpAddr>().ok()?),
    };
    // `::ffff:a.b.c.d/n` is the IPv4 range a.b.c.d/(n − 96).
    let net = match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => IpNet::new(IpAddr::V4(v4), v6.prefix_len() - 96).ok()?,
            None => net,
        },
        _ => net,
    };
    Some(net.trunc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn allowlists_parse_normalise_and_deduplicate() {
        let list = IpAllowlist::parse(
            "203.0.113.7\n10.1.2.3/8, 10.0.0.0/8  2001:db8::1/32\n203.0.113.7/32",
        )
        .unwrap();
        assert_eq!(list.entries(), ["203.0.113.7", "10.0.0.0/8", "2001:db8::/32"]);
        assert_eq!(IpAllowlist::from_stored(list.to_stored().as_deref()), list);
        assert!(IpAllowlist::parse("").unwrap().is_empty());
        assert_eq!(IpAllowlist::parse("").unwrap().to_stored(), None);
    }

    #[test]
    fn allowlists_refuse_junk_with_the_entry_named() {
        for bad in
            ["10.0.0.300", "10.0.0.0/33", "2001:db8::/129", "example.com", "1.2.3", "10.0.0.0/-1"]
        {
            let err = IpAllowlist::parse(&format!("203.0.113.7\n{bad}")).unwrap_err();
            assert!(err.contains(bad), "{bad}: {err}");
        }
        let many: Vec<String> = (0..101).map(|i| format!("10.0.{i}.1")).collect();
        assert!(IpAllowlist::parse(&many.join("\n")).unwrap_err().contains("at most 100"));
        let hundred: Vec<String> = (0..100).map(|i| format!("10.0.{i}.1")).collect();
        assert!(IpAllowlist::parse(&hundred.join("\n")).is_ok());
    }

    #[test]
    fn allowlists_match_v4_v6_mapped_and_edges() {
        let list =
            IpAllowlist::parse("10.0.0.0/8\n203.0.113.7/32\n2001:db8::/32\n::1/128").unwrap();
        assert!(list.allows(ip("10.255.0.1")));
        assert!(!list.allows(ip("11.0.0.1")));
        assert!(list.allows(ip("203.0.113.7")));
        assert!(!list.allows(ip("203.0.113.8")));
        assert!(list.allows(ip("2001:db8:ffff::1")));
        assert!(!list.allows(ip("2001:db9::1")));
        assert!(list.allows(ip("::1")));
        assert!(!list.allows(ip("::2")));
        // An IPv4 client seen through an IPv6 socket.
        assert!(list.allows(ip("::ffff:10.1.2.3")));
        assert!(!list.allows(ip("::ffff:11.1.2.3")));
        // A mapped entry is the IPv4 range it names.
        let mapped = IpAllowlist::parse("::ffff:192.0.2.0/120").unwrap();
        assert_eq!(mapped.entries(), ["192.0.2.0/24"]);
        assert!(mapped.allows(ip("192.0.2.9")));
        // /0 lets every address of its family in, and only that family.
        let all_v4 = IpAllowlist::parse("0.0.0.0/0").unwrap();
        assert!(all_v4.allows(ip("198.51.100.1")));
        assert!(!all_v4.allows(ip("2001:db8::1")));
        assert!(IpAllowlist::default().allows(ip("2001:db8::1")));
    }

    #[test]
    fn a_list_refuses_a_missing_or_unparsable_address() {
        let list = IpAllowlist::parse("10.0.0.0/8").unwrap();
        assert!(!list.allows_text(None));
        assert!(!list.allows_text(Some("not an ip")));
        assert!(list.allows_text(Some(" 10.0.0.1 ")));
        assert!(IpAllowlist::default().allows_text(None));
    }

    #[test]
    fn a_huge_list_is_refused_by_its_length_before_any_parsing() {
        // 2 MB of distinct addresses, as one field: refused at once.
        let huge: Vec<String> = (0..160_000u32)
            .map(|i| std::net::Ipv4Addr::from(0x0a00_0000 + i).to_string())
            .collect();
        let started = std::time::Instant::now();
        let err = IpAllowlist::parse(&huge.join(" ")).unwrap_err();
        assert!(err.contains("at most 100"), "{err}");
        assert!(
            started.elapsed() < std::time::Duration::from_millis(50),
            "{:?}",
            started.elapsed()
        );
        // Duplicates within the length still count once.
        let same = vec!["10.0.0.1"; 500].join(",");
        assert_eq!(IpAllowlist::parse(&same).unwrap().entries(), ["10.0.0.1"]);
    }
}

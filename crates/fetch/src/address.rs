//! Which addresses and host names a fetch may never reach.
//!
//! The refused IPv4 ranges are the special-purpose blocks that are not globally reachable:
//! "this network" (incl. `0.0.0.0`), private (RFC 1918), shared CGNAT space, loopback,
//! link-local (incl. the cloud metadata address `169.254.169.254`), IETF protocol assignments,
//! the documentation and benchmarking blocks, the deprecated 6to4 relay anycast block,
//! multicast, and the reserved block (incl. broadcast).
//!
//! For IPv6, an address that embeds an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64 with
//! the well-known prefix, 6to4, and both addresses inside Teredo) is judged by that IPv4
//! address. Everything outside global unicast `2000::/3` is refused (loopback, unspecified,
//! unique-local, link-local, site-local, multicast, discard-only), and so are the
//! documentation, benchmarking and ORCHID blocks inside it.
//!
//! Host names `localhost`, `*.localhost` (with or without a trailing dot) are refused before
//! any lookup, and so is a name whose last label is numeric, which some resolvers would read as
//! an IPv4 address in a legacy notation.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A network given by its first address and prefix length.
type V4Net = (Ipv4Addr, u8);

/// A network given by its first address and prefix length.
type V6Net = (Ipv6Addr, u8);

/// IPv4 blocks that a fetch never reaches.
const REFUSED_V4: [V4Net; 15] = [
    (Ipv4Addr::new(0, 0, 0, 0), 8),
    (Ipv4Addr::new(10, 0, 0, 0), 8),
    (Ipv4Addr::new(100, 64, 0, 0), 10),
    (Ipv4Addr::new(127, 0, 0, 0), 8),
    (Ipv4Addr::new(169, 254, 0, 0), 16),
    (Ipv4Addr::new(172, 16, 0, 0), 12),
    (Ipv4Addr::new(192, 0, 0, 0), 24),
    (Ipv4Addr::new(192, 0, 2, 0), 24),
    (Ipv4Addr::new(192, 88, 99, 0), 24),
    (Ipv4Addr::new(192, 168, 0, 0), 16),
    (Ipv4Addr::new(198, 18, 0, 0), 15),
    (Ipv4Addr::new(198, 51, 100, 0), 24),
    (Ipv4Addr::new(203, 0, 113, 0), 24),
    (Ipv4Addr::new(224, 0, 0, 0), 4),
    (Ipv4Addr::new(240, 0, 0, 0), 4),
];

/// Global unicast, the only IPv6 space a fetch may reach (minus the blocks below).
const GLOBAL_UNICAST_V6: V6Net = (Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3);

/// Blocks inside global unicast that are not globally reachable.
const REFUSED_V6: [V6Net; 6] = [
    (Ipv6Addr::new(0x2001, 0x0002, 0, 0, 0, 0, 0, 0), 48),
    (Ipv6Addr::new(0x2001, 0x0010, 0, 0, 0, 0, 0, 0), 28),
    (Ipv6Addr::new(0x2001, 0x0020, 0, 0, 0, 0, 0, 0), 28),
    (Ipv6Addr::new(0x2001, 0x0db8, 0, 0, 0, 0, 0, 0), 32),
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20),
    (Ipv6Addr::new(0x0064, 0xff9b, 0x0001, 0, 0, 0, 0, 0), 48),
];

/// `::ffff:0:0/96`: IPv4-mapped addresses.
const MAPPED_V6: V6Net = (Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96);

/// `::/96`: the deprecated IPv4-compatible addresses, which also hold `::` and `::1`.
const COMPATIBLE_V6: V6Net = (Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0), 96);

/// `64:ff9b::/96`: NAT64 with the well-known prefix.
const NAT64_V6: V6Net = (Ipv6Addr::new(0x0064, 0xff9b, 0, 0, 0, 0, 0, 0), 96);

/// `2002::/16`: 6to4, the IPv4 address in bits 16 to 48.
const SIX_TO_FOUR_V6: V6Net = (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16);

/// `2001::/32`: Teredo, the server's IPv4 address in bits 32 to 64 and the client's, inverted,
/// in the last 32 bits.
const TEREDO_V6: V6Net = (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 32);

/// Whether a fetch must refuse to connect to `ip` (unless an operator allowed the `host:port`).
pub fn is_refused_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_refused_v4(v4),
        IpAddr::V6(v6) => is_refused_v6(v6),
    }
}

fn is_refused_v4(ip: Ipv4Addr) -> bool {
    REFUSED_V4.iter().any(|&net| in_v4(ip, net))
}

fn is_refused_v6(ip: Ipv6Addr) -> bool {
    let bits = u128::from(ip);

    if in_v6(ip, MAPPED_V6) || in_v6(ip, COMPATIBLE_V6) || in_v6(ip, NAT64_V6) {
        return is_refused_v4(v4_at(bits, 0));
    }

    if in_v6(ip, SIX_TO_FOUR_V6) {
        return is_refused_v4(v4_at(bits, 80));
    }

    if in_v6(ip, TEREDO_V6) {
        let server = v4_at(bits, 64);
        let client = Ipv4Addr::from(!u32::from(v4_at(bits, 0)));
        return is_refused_v4(server) || is_refused_v4(client);
    }

    !in_v6(ip, GLOBAL_UNICAST_V6) || REFUSED_V6.iter().any(|&net| in_v6(ip, net))
}

/// The 32 bits of `bits` starting `shift` bits from the low end, as an IPv4 address.
fn v4_at(bits: u128, shift: u32) -> Ipv4Addr {
    let word = (bits >> shift) & u128::from(u32::MAX);

    Ipv4Addr::from(u32::try_from(word).unwrap_or(u32::MAX))
}

fn in_v4(ip: Ipv4Addr, (net, prefix): V4Net) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);

    u32::from(ip) & mask == u32::from(net) & mask
}

fn in_v6(ip: Ipv6Addr, (net, prefix): V6Net) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);

    u128::from(ip) & mask == u128::from(net) & mask
}

/// Whether a host name must be refused before it is resolved: `localhost` and its
/// subdomains, or a name a resolver could read as a legacy numeric IPv4 form.
pub(crate) fn is_refused_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();

    if name == "localhost" || name.ends_with(".localhost") {
        return true;
    }

    let last_label = name.rsplit('.').next().unwrap_or_default();
    is_numeric_label(last_label)
}

/// A decimal, octal (leading zero) or hexadecimal (`0x`) number, as `inet_aton` reads labels.
fn is_numeric_label(label: &str) -> bool {
    let hex = label.strip_prefix("0x").or_else(|| label.strip_prefix("0X"));

    match hex {
        Some(digits) => digits.chars().all(|c| c.is_ascii_hexdigit()),
        None => !label.is_empty() && label.chars().all(|c| c.is_ascii_digit()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> bool {
        is_refused_ip(text.parse().expect("test address"))
    }

    #[test]
    fn special_purpose_ipv4_addresses_are_refused() {
        let cases = [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.169.254",
            "169.254.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
        ];

        for case in cases {
            assert!(refused(case), "{case} should be refused");
        }
    }

    #[test]
    fn public_ipv4_addresses_are_not_refused() {
        let cases = [
            "1.1.1.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "169.253.255.255",
            "172.15.255.255",
            "172.32.0.1",
            "192.0.1.1",
            "192.169.0.1",
            "198.17.255.255",
            "198.20.0.1",
            "223.255.255.255",
        ];

        for case in cases {
            assert!(!refused(case), "{case} should be allowed");
        }
    }

    #[test]
    fn special_purpose_ipv6_addresses_are_refused() {
        let cases = [
            "::",
            "::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "fc00::1",
            "fd00::1",
            "ff02::1",
            "100::1",
            "2001:db8::1",
            "2001:2::1",
            "2001:10::1",
            "2001:20::1",
            "3fff::1",
            "64:ff9b:1::1",
        ];

        for case in cases {
            assert!(refused(case), "{case} should be refused");
        }
    }

    #[test]
    fn ipv6_addresses_embedding_a_refused_ipv4_address_are_refused() {
        let cases = [
            "::ffff:127.0.0.1",
            "::ffff:7f00:1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "::192.168.0.1",
            "64:ff9b::127.0.0.1",
            "64:ff9b::a00:1",
            "2002:7f00:1::1",
            "2002:a9fe:a9fe::1",
            // Teredo with a public server and the client 192.0.2.45 (inverted: 3fff:fdd2).
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            // Teredo with the server 10.0.0.1.
            "2001:0:a00:1:8000:63bf:f7f7:f7f7",
        ];

        for case in cases {
            assert!(refused(case), "{case} should be refused");
        }
    }

    #[test]
    fn public_ipv6_addresses_are_not_refused() {
        let cases = [
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "2a00:1450:4001::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
            // Teredo with public server 65.54.227.120 and public client 8.8.8.8.
            "2001:0:4136:e378:8000:63bf:f7f7:f7f7",
        ];

        for case in cases {
            assert!(!refused(case), "{case} should be allowed");
        }
    }

    #[test]
    fn localhost_names_are_refused_before_resolution() {
        for name in ["localhost", "localhost.", "LOCALHOST", "api.localhost", "a.b.localhost."] {
            assert!(is_refused_name(name), "{name} should be refused");
        }
    }

    #[test]
    fn names_ending_in_a_number_are_refused_before_resolution() {
        for name in ["2130706433", "0x7f000001", "127.1", "0177.0.0.1", "example.0x10", "a.0"] {
            assert!(is_refused_name(name), "{name} should be refused");
        }
    }

    #[test]
    fn ordinary_names_are_left_to_resolution() {
        for name in ["example.com", "news.example.", "localhost.example", "0x.example", "a1"] {
            assert!(!is_refused_name(name), "{name} should be resolved, not refused");
        }
    }
}

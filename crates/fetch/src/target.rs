//! Vetting one hop of a fetch from its URL alone, without any network access.

use std::net::IpAddr;

use url::{Host, Url};

use crate::address::{is_refused_ip, is_refused_name};
use crate::error::FetchError;
use crate::policy::FetchPolicy;

/// Schemes a fetch may use.
const SCHEMES: [&str; 2] = ["http", "https"];

/// A URL that passed the syntax checks: where to connect, and whether an operator allowed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hop {
    /// The host as it appears in the URL (`news.example`, `127.0.0.1`, `[::1]`).
    pub(crate) host: String,
    /// The explicit port, or the scheme's default.
    pub(crate) port: u16,
    /// Whether this `host:port` is in the policy's allow list.
    pub(crate) allowed: bool,
    /// A literal address (already vetted), or `None` for a name still to be resolved.
    pub(crate) literal: Option<IpAddr>,
}

/// Request-time check of a user-supplied URL, without DNS.
///
/// Refuses ([`FetchError::NotAllowed`]) a malformed URL, a scheme other than `http` and
/// `https`, a user name or password, a port outside the policy's allowed ports, a `localhost`
/// name, and a literal IP address in a refused range, unless the exact `host:port` is allowed
/// by the operator. Numeric host spellings such as `0x7f000001`, `2130706433`, `0177.0.0.1` and
/// `127.1` are normalized to IPv4 addresses by the URL parser and vetted as such. Returns the
/// parsed URL.
pub fn check_syntax(raw: &str, policy: &FetchPolicy) -> Result<Url, FetchError> {
    let url = Url::parse(raw.trim()).map_err(|_| FetchError::NotAllowed)?;

    vet_hop(&url, policy)?;

    Ok(url)
}

/// Checks one hop's URL and says where it would connect.
pub(crate) fn vet_hop(url: &Url, policy: &FetchPolicy) -> Result<Hop, FetchError> {
    if !SCHEMES.contains(&url.scheme()) {
        return Err(FetchError::NotAllowed);
    }

    if !url.username().is_empty() || url.password().is_some() {
        return Err(FetchError::NotAllowed);
    }

    let host = url.host().ok_or(FetchError::NotAllowed)?;
    let port = url.port_or_known_default().ok_or(FetchError::NotAllowed)?;
    let allowed = policy.allows(&host, port);

    if !allowed && !policy.allowed_ports.contains(&port) {
        return Err(FetchError::NotAllowed);
    }

    let literal = match host {
        Host::Domain(name) if !allowed && is_refused_name(name) => {
            return Err(FetchError::NotAllowed);
        }
        Host::Domain(_) => None,
        Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
    };

    if let Some(ip) = literal
        && !allowed
        && is_refused_ip(ip)
    {
        return Err(FetchError::NotAllowed);
    }

    let host = url.host_str().ok_or(FetchError::NotAllowed)?.to_owned();

    Ok(Hop { host, port, allowed, literal })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> FetchPolicy {
        FetchPolicy::default()
    }

    #[test]
    fn url_parser_turns_numeric_hosts_into_ipv4_addresses() {
        for raw in [
            "http://0x7f000001/",
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://127.0.1/",
            "http://0x7f.0.0.1/",
        ] {
            let url = Url::parse(raw).expect("parses");

            assert_eq!(url.host(), Some(Host::Ipv4(std::net::Ipv4Addr::LOCALHOST)), "{raw}");
            assert_eq!(check_syntax(raw, &policy()), Err(FetchError::NotAllowed), "{raw}");
        }
    }

    #[test]
    fn public_urls_pass_the_syntax_check() {
        for raw in [
            "https://news.example/article?id=1#top",
            "http://news.example:80/",
            "https://93.184.215.14/",
            "https://[2606:4700:4700::1111]/",
        ] {
            assert!(check_syntax(raw, &policy()).is_ok(), "{raw}");
        }
    }

    #[test]
    fn allowed_host_and_port_bypass_port_and_address_checks() {
        let policy = FetchPolicy {
            allow: vec!["127.0.0.1:8080".to_owned(), "localhost:3000".to_owned()],
            ..policy()
        };

        let hop = vet_hop(&Url::parse("http://127.0.0.1:8080/x").expect("url"), &policy)
            .expect("allowed");

        assert!(hop.allowed);
        assert_eq!(hop.literal, Some(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)));
        assert!(check_syntax("http://localhost:3000/", &policy).is_ok());
        assert_eq!(check_syntax("http://127.0.0.1:8081/", &policy), Err(FetchError::NotAllowed));
        assert_eq!(check_syntax("http://localhost:3001/", &policy), Err(FetchError::NotAllowed));
    }

    #[test]
    fn allowed_host_still_needs_http_and_no_credentials() {
        let policy = FetchPolicy { allow: vec!["127.0.0.1:8080".to_owned()], ..policy() };

        assert_eq!(check_syntax("ftp://127.0.0.1:8080/", &policy), Err(FetchError::NotAllowed));
        assert_eq!(
            check_syntax("http://a:b@127.0.0.1:8080/", &policy),
            Err(FetchError::NotAllowed)
        );
    }

    #[test]
    fn names_are_kept_for_resolution() {
        let hop =
            vet_hop(&Url::parse("https://News.Example./a").expect("url"), &policy()).expect("name");

        assert_eq!(
            hop,
            Hop { host: "news.example.".into(), port: 443, allowed: false, literal: None }
        );
    }
}

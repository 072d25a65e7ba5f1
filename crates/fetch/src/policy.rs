//! The limits and exceptions a fetch runs under.
//!
//! Every limit has a documented default; the service wires each one to an environment
//! setting. The allow list is the only way to reach an address that is otherwise refused, and
//! it names exact `host:port` pairs: allowing `wiki.internal:80` allows neither
//! `wiki.internal:8080` nor any other name that resolves to the same address.

use std::net::SocketAddr;
use std::time::Duration;

use url::Host;

/// Default for [`FetchPolicy::allowed_ports`].
pub const DEFAULT_ALLOWED_PORTS: [u16; 2] = [80, 443];

/// Default for [`FetchPolicy::max_redirects`].
pub const DEFAULT_MAX_REDIRECTS: usize = 5;

/// Default for [`FetchPolicy::timeout`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Default for [`FetchPolicy::max_body_bytes`]: 5 MB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 5_000_000;

/// Default for [`FetchPolicy::user_agent`].
pub const DEFAULT_USER_AGENT: &str = "OratorBot/1.0 (+https://orator.invalid/bot)";

/// What a fetch may reach and how much it may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchPolicy {
    /// `host:port` pairs an operator allows even though their port is not in
    /// [`allowed_ports`](Self::allowed_ports) or their address is refused (loopback, private,
    /// `localhost`, ...). From `ORATOR_URL_ALLOW`; see [`FetchPolicy::parse_allow_list`].
    /// IPv6 hosts are written in brackets (`[fd00::1]:8080`). Default: empty.
    pub allow: Vec<String>,
    /// Ports a URL may name (explicitly or by its scheme's default). Default: 80 and 443.
    pub allowed_ports: Vec<u16>,
    /// Redirects followed before the fetch fails. Default: 5.
    pub max_redirects: usize,
    /// Deadline for the whole fetch: every lookup, connection, redirect and the body.
    /// Default: 10 s.
    pub timeout: Duration,
    /// Largest body accepted, in bytes, before decoding. Default: 5 MB (5,000,000 bytes).
    pub max_body_bytes: usize,
    /// `User-Agent` header sent with every request.
    /// Default: `OratorBot/1.0 (+https://orator.invalid/bot)`.
    pub user_agent: String,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self {
            allow: Vec::new(),
            allowed_ports: DEFAULT_ALLOWED_PORTS.to_vec(),
            max_redirects: DEFAULT_MAX_REDIRECTS,
            timeout: DEFAULT_TIMEOUT,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            user_agent: DEFAULT_USER_AGENT.to_owned(),
        }
    }
}

/// An `ORATOR_URL_ALLOW` entry that is not `host:port`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("allow-list entry number {position} is not host:port")]
pub struct AllowListError {
    /// One-based position of the bad entry in the list.
    pub position: usize,
}

impl AllowListError {
    /// The stable code of this configuration error.
    pub fn code(&self) -> &'static str {
        "invalid_url_allow"
    }
}

impl FetchPolicy {
    /// Parses an allow list such as `ORATOR_URL_ALLOW`: `host:port` entries separated by commas
    /// or whitespace, returned in canonical form (lowercase, IPv6 compressed in brackets).
    pub fn parse_allow_list(raw: &str) -> Result<Vec<String>, AllowListError> {
        raw.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|entry| !entry.is_empty())
            .enumerate()
            .map(|(index, entry)| {
                canonical_entry(entry).ok_or(AllowListError { position: index + 1 })
            })
            .collect()
    }

    /// Whether the operator allowed this exact host and port. Entries that are not
    /// `host:port` never match.
    pub fn allows(&self, host: &Host<&str>, port: u16) -> bool {
        let wanted = match host {
            Host::Domain(name) => format!("{}:{port}", name.to_ascii_lowercase()),
            Host::Ipv4(ip) => SocketAddr::new((*ip).into(), port).to_string(),
            Host::Ipv6(ip) => SocketAddr::new((*ip).into(), port).to_string(),
        };

        self.allow.iter().filter_map(|entry| canonical_entry(entry)).any(|entry| entry == wanted)
    }
}

/// The canonical spelling of an allow-list entry, or `None` if it is not `host:port`.
fn canonical_entry(entry: &str) -> Option<String> {
    let entry = entry.trim().to_ascii_lowercase();

    if let Ok(addr) = entry.parse::<SocketAddr>() {
        return Some(addr.to_string());
    }

    let (host, port) = entry.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    let valid_host = !host.is_empty()
        && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');

    valid_host.then(|| format!("{host}:{port}"))
}

impl FetchPolicy {
    /// The policy of URL imports from the boot configuration (`ORATOR_URL_ALLOW` and the
    /// `ORATOR_FETCH_*` limits).
    pub fn from_config(config: &orator_config::Config) -> Result<Self, AllowListError> {
        let allow = match &config.url_allow {
            Some(raw) => Self::parse_allow_list(raw)?,
            None => Vec::new(),
        };

        Ok(Self {
            allow,
            max_redirects: config.fetch_max_redirects,
            timeout: std::time::Duration::from_secs(config.fetch_timeout_secs),
            max_body_bytes: config.fetch_max_bytes,
            ..Self::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    fn policy(allow: &[&str]) -> FetchPolicy {
        FetchPolicy { allow: allow.iter().map(|s| (*s).to_owned()).collect(), ..Default::default() }
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let policy = FetchPolicy::default();

        assert!(policy.allow.is_empty());
        assert_eq!(policy.allowed_ports, vec![80, 443]);
        assert_eq!(policy.max_redirects, 5);
        assert_eq!(policy.timeout, Duration::from_secs(10));
        assert_eq!(policy.max_body_bytes, 5_000_000);
        assert_eq!(policy.user_agent, "OratorBot/1.0 (+https://orator.invalid/bot)");
    }

    #[test]
    fn allow_list_matches_exact_host_and_port_only() {
        let policy = policy(&["Wiki.Internal:8080", "127.0.0.1:9000", "[0:0::1]:9001"]);

        assert!(policy.allows(&Host::Domain("wiki.internal"), 8080));
        assert!(!policy.allows(&Host::Domain("wiki.internal"), 80));
        assert!(!policy.allows(&Host::Domain("other.internal"), 8080));
        assert!(policy.allows(&Host::Ipv4(Ipv4Addr::LOCALHOST), 9000));
        assert!(!policy.allows(&Host::Ipv4(Ipv4Addr::LOCALHOST), 9001));
        assert!(policy.allows(&Host::Ipv6(Ipv6Addr::LOCALHOST), 9001));
        assert!(!policy.allows(&Host::Ipv6(Ipv6Addr::LOCALHOST), 9000));
    }

    #[test]
    fn malformed_allow_entries_never_match() {
        let policy = policy(&["127.0.0.1", "127.0.0.1:http", ":80", "a b:80", "*:80"]);

        assert!(!policy.allows(&Host::Ipv4(Ipv4Addr::LOCALHOST), 80));
        assert!(!policy.allows(&Host::Domain("a b"), 80));
        assert!(!policy.allows(&Host::Domain("*"), 80));
    }

    #[test]
    fn allow_list_is_parsed_into_canonical_entries() {
        let parsed =
            FetchPolicy::parse_allow_list(" Wiki.Internal:80, [0:0::1]:8080 127.0.0.1:9000,")
                .expect("valid list");

        assert_eq!(parsed, vec!["wiki.internal:80", "[::1]:8080", "127.0.0.1:9000"]);
        assert_eq!(FetchPolicy::parse_allow_list("").expect("empty list"), Vec::<String>::new());
    }

    #[test]
    fn allow_list_with_an_entry_without_port_is_rejected() {
        let error = FetchPolicy::parse_allow_list("wiki.internal:80,intranet").expect_err("bad");

        assert_eq!(error, AllowListError { position: 2 });
        assert_eq!(error.code(), "invalid_url_allow");
    }
}

//! The fetch itself: vet a hop, resolve once, connect to the vetted addresses, follow
//! redirects by hand, and read a bounded body.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use reqwest::{Response, StatusCode};
use rustls::ClientConfig;
use rustls_platform_verifier::BuilderVerifierExt;
use url::Url;

use crate::address::is_refused_ip;
use crate::body::{self, MediaType};
use crate::error::FetchError;
use crate::policy::FetchPolicy;
use crate::resolve::{NoLookup, Resolve, SystemResolver};
use crate::target::{Hop, vet_hop};

/// The `Accept` header sent with every request: the accepted media types.
const ACCEPT_VALUE: &str = "text/html, application/xhtml+xml, text/plain;q=0.9";

/// Redirect statuses that are followed; any other 3xx is reported as a status.
const FOLLOWED_REDIRECTS: [StatusCode; 5] = [
    StatusCode::MOVED_PERMANENTLY,
    StatusCode::FOUND,
    StatusCode::SEE_OTHER,
    StatusCode::TEMPORARY_REDIRECT,
    StatusCode::PERMANENT_REDIRECT,
];

/// A fetched page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The URL the page was finally read from, after redirects.
    pub final_url: Url,
    /// The page's lowercase media type without parameters, e.g. `text/html`.
    pub content_type: String,
    /// The page decoded to text.
    pub body: String,
}

/// Fetches user-supplied URLs under a [`FetchPolicy`]. Cheap to clone.
#[derive(Clone)]
pub struct Fetcher {
    inner: Arc<Inner>,
}

struct Inner {
    policy: FetchPolicy,
    resolver: Arc<dyn Resolve>,
    tls: Option<ClientConfig>,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher").field("policy", &self.inner.policy).finish_non_exhaustive()
    }
}

impl Fetcher {
    /// A fetcher using the operating system's resolver.
    pub fn new(policy: FetchPolicy) -> Self {
        Self::with_resolver(policy, Arc::new(SystemResolver))
    }

    /// A fetcher using the given resolver (tests map names to loopback servers with it).
    pub fn with_resolver(policy: FetchPolicy, resolver: Arc<dyn Resolve>) -> Self {
        // Other parts of the service may have installed the provider already; either way ring
        // is then the process default.
        let _ = rustls::crypto::ring::default_provider().install_default();

        Self { inner: Arc::new(Inner { policy, resolver, tls: tls_config() }) }
    }

    /// The policy this fetcher enforces.
    pub fn policy(&self) -> &FetchPolicy {
        &self.inner.policy
    }

    /// Fetches `url`, following at most [`FetchPolicy::max_redirects`] redirects, all within
    /// [`FetchPolicy::timeout`].
    pub async fn fetch(&self, url: &Url) -> Result<Fetched, FetchError> {
        tokio::time::timeout(self.inner.policy.timeout, self.fetch_unbounded(url))
            .await
            .unwrap_or(Err(FetchError::Timeout))
    }

    async fn fetch_unbounded(&self, url: &Url) -> Result<Fetched, FetchError> {
        let policy = &self.inner.policy;
        let mut current = url.clone();
        let mut redirects = 0;

        loop {
            let hop = vet_hop(&current, policy)?;

            let addrs = self.vetted_addrs(&hop).await?;

            let response = self.request(&current, &hop, &addrs).await?;

            let status = response.status();
            if FOLLOWED_REDIRECTS.contains(&status) {
                if redirects >= policy.max_redirects {
                    return Err(FetchError::HttpStatus(status.as_u16()));
                }

                current = redirect_target(&current, &response)?;
                redirects += 1;
                continue;
            }

            if !status.is_success() {
                return Err(FetchError::HttpStatus(status.as_u16()));
            }

            return self.read_page(current, response).await;
        }
    }

    /// The socket addresses this hop may connect to: the literal address (vetted with the
    /// URL), or every address of the name, refused if any one of them is refused.
    async fn vetted_addrs(&self, hop: &Hop) -> Result<Vec<SocketAddr>, FetchError> {
        if let Some(ip) = hop.literal {
            return Ok(vec![SocketAddr::new(ip, hop.port)]);
        }

        let ips = self.inner.resolver.resolve(&hop.host).await.map_err(|error| {
            tracing::debug!(error.kind = ?error.kind(), "page host did not resolve");
            FetchError::Network
        })?;

        vet_answers(ips, hop)
    }

    /// Sends one GET on a client that can reach only `addrs` and follows no redirect.
    async fn request(
        &self,
        url: &Url,
        hop: &Hop,
        addrs: &[SocketAddr],
    ) -> Result<Response, FetchError> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .no_proxy()
            .http1_only()
            .pool_max_idle_per_host(0)
            .dns_resolver(Arc::new(NoLookup))
            .user_agent(self.inner.policy.user_agent.as_str());

        if let Some(tls) = &self.inner.tls {
            builder = builder.tls_backend_preconfigured(tls.clone());
        }

        if hop.literal.is_none() {
            builder = builder.resolve_to_addrs(&hop.host, addrs);
        }

        let client = builder.build().map_err(network_error)?;

        client.get(url.clone()).header(ACCEPT, ACCEPT_VALUE).send().await.map_err(network_error)
    }

    /// Checks the media type, reads the body up to the size limit, and decodes it.
    async fn read_page(&self, url: Url, mut response: Response) -> Result<Fetched, FetchError> {
        let max = self.inner.policy.max_body_bytes;

        let header = response.headers().get(CONTENT_TYPE).and_then(|value| value.to_str().ok());
        let media = MediaType::parse(header.unwrap_or_default());
        if !media.is_accepted() {
            return Err(FetchError::UnsupportedContentType);
        }

        let limit = u64::try_from(max).unwrap_or(u64::MAX);
        let declared = response.content_length();
        if declared.is_some_and(|len| len > limit) {
            return Err(FetchError::TooLarge);
        }

        let capacity = declared.and_then(|len| usize::try_from(len).ok()).unwrap_or_default();
        let mut bytes = Vec::with_capacity(capacity);
        while let Some(chunk) = response.chunk().await.map_err(network_error)? {
            if bytes.len().saturating_add(chunk.len()) > max {
                return Err(FetchError::TooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }

        let body = body::decode(&bytes, media.charset.as_deref());

        Ok(Fetched { final_url: url, content_type: media.essence, body })
    }
}

/// Turns a name's resolved addresses into the socket addresses to connect to, refusing them
/// all if any one is refused (unless the operator allowed this `host:port`).
fn vet_answers(ips: Vec<IpAddr>, hop: &Hop) -> Result<Vec<SocketAddr>, FetchError> {
    if ips.is_empty() {
        return Err(FetchError::Network);
    }

    if !hop.allowed && ips.iter().any(|&ip| is_refused_ip(ip)) {
        return Err(FetchError::NotAllowed);
    }

    let mut addrs = Vec::with_capacity(ips.len());
    for addr in ips.into_iter().map(|ip| SocketAddr::new(ip, hop.port)) {
        if !addrs.contains(&addr) {
            addrs.push(addr);
        }
    }

    Ok(addrs)
}

/// The URL a redirect response points to, resolved against the current URL.
fn redirect_target(current: &Url, response: &Response) -> Result<Url, FetchError> {
    let status = FetchError::HttpStatus(response.status().as_u16());

    let location = response.headers().get(LOCATION).ok_or(status.clone())?;
    let location = location.to_str().map_err(|_| status.clone())?;

    current.join(location).map_err(|_| status)
}

/// Maps a client error to the fetch error it means, logging its kind (never its URL).
fn network_error(error: reqwest::Error) -> FetchError {
    if error.is_timeout() {
        return FetchError::Timeout;
    }

    tracing::debug!(
        error.connect = error.is_connect(),
        error.body = error.is_body() || error.is_decode(),
        error.builder = error.is_builder(),
        "page request failed"
    );
    FetchError::Network
}

/// The TLS settings shared by every per-hop client: ring, the platform's roots, HTTP/1.1.
///
/// Without any platform root certificates every HTTPS fetch fails (closed) while plain HTTP
/// still works; this is logged once at start-up.
fn tls_config() -> Option<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = || {
        ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .ok()
    };

    let mut config = match builder()?.with_platform_verifier() {
        Ok(verifying) => verifying.with_no_client_auth(),
        Err(_) => {
            tracing::warn!("no platform root certificates: HTTPS page fetches will fail");
            builder()?.with_root_certificates(rustls::RootCertStore::empty()).with_no_client_auth()
        }
    };

    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Some(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(allowed: bool) -> Hop {
        Hop { host: "news.example".to_owned(), port: 8080, allowed, literal: None }
    }

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|ip| ip.parse().expect("test address")).collect()
    }

    #[test]
    fn any_refused_answer_refuses_the_name() {
        for answers in [
            &["8.8.8.8", "10.1.2.3"][..],
            &["127.0.0.1", "8.8.8.8"],
            &["2606:4700:4700::1111", "::ffff:127.0.0.1"],
            &["1.1.1.1", "2001:4860:4860::8888", "169.254.169.254"],
        ] {
            assert_eq!(vet_answers(ips(answers), &hop(false)), Err(FetchError::NotAllowed));
        }
    }

    #[test]
    fn public_answers_are_pinned_with_the_hop_port() {
        let pinned = vet_answers(ips(&["8.8.8.8", "2001:4860:4860::8888", "8.8.8.8"]), &hop(false));

        let expected: Vec<SocketAddr> = vec![
            "8.8.8.8:8080".parse().expect("addr"),
            "[2001:4860:4860::8888]:8080".parse().expect("addr"),
        ];
        assert_eq!(pinned, Ok(expected));
    }

    #[test]
    fn allowed_host_port_may_resolve_to_refused_addresses() {
        let pinned = vet_answers(ips(&["127.0.0.1", "10.0.0.1"]), &hop(true));

        assert_eq!(pinned.map(|addrs| addrs.len()), Ok(2));
    }

    #[test]
    fn empty_answer_is_a_network_failure() {
        assert_eq!(vet_answers(Vec::new(), &hop(false)), Err(FetchError::Network));
    }
}

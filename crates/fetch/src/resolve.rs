//! Host name resolution, behind a trait so tests can answer with addresses of their choosing.

use std::io;
use std::net::IpAddr;

/// Resolves a host name to its addresses. The fetcher calls it once per hop and connects only
/// to the addresses it returned, after vetting every one of them.
#[async_trait::async_trait]
pub trait Resolve: Send + Sync {
    /// All addresses of `host` (a DNS name, never an IP literal).
    async fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>>;
}

/// The operating system's resolver (`getaddrinfo` on a blocking thread, via tokio).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

#[async_trait::async_trait]
impl Resolve for SystemResolver {
    async fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        let answers = tokio::net::lookup_host((host, 0)).await?;

        Ok(answers.map(|addr| addr.ip()).collect())
    }
}

/// A resolver for the HTTP client that answers no name at all. Every hop pins the vetted
/// addresses of its host, so any lookup the client would still attempt is refused.
pub(crate) struct NoLookup;

impl reqwest::dns::Resolve for NoLookup {
    fn resolve(&self, _name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let refusal: Box<dyn std::error::Error + Send + Sync> =
            Box::new(io::Error::other("name lookups are done before connecting"));

        Box::pin(std::future::ready(Err(refusal)))
    }
}

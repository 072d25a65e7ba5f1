//! Server-side fetching of a web page whose URL a user supplied, guarded against server-side
//! request forgery (SSRF).
//!
//! The guard works in two places:
//!
//! - [`check_syntax`] runs at request time without touching the network: only `http` and
//!   `https`, no credentials in the URL, a port from [`FetchPolicy::allowed_ports`], no
//!   `localhost` names, and no literal IP address in a refused range.
//! - [`Fetcher::fetch`] repeats those checks on every hop, resolves a host name exactly once,
//!   refuses the hop if *any* answer is a refused address ([`is_refused_ip`]), and then connects
//!   to the vetted addresses themselves. The HTTP client is built per hop with those addresses
//!   pinned and a resolver that answers nothing, so a second (rebound) DNS answer can never be
//!   used. Redirects are followed by hand, each one vetted like the first request.
//!
//! An operator may allow exact `host:port` pairs ([`FetchPolicy::allow`]) that would otherwise be
//! refused, for example an intranet wiki. The whole fetch runs under one deadline, the body is
//! capped, and only HTML, XHTML and plain text are accepted.
//!
//! Error texts never contain the URL or any address.

mod address;
mod body;
mod error;
mod fetcher;
mod policy;
mod resolve;
mod target;

pub use address::is_refused_ip;
pub use error::FetchError;
pub use fetcher::{Fetched, Fetcher};
pub use policy::{AllowListError, FetchPolicy};
pub use resolve::{Resolve, SystemResolver};
pub use target::check_syntax;

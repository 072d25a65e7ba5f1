//! A tiny hand-written HTTP/1.1 responder on 127.0.0.1, a listener that must never be
//! reached, and a resolver with fixed answers, for the fetch tests.

#![expect(clippy::expect_used, reason = "a failed test setup should abort the test loudly")]

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use orator_fetch::{FetchPolicy, Resolve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Upper bound for any single test.
pub const TEST_DEADLINE: Duration = Duration::from_secs(10);

/// The fetch deadline used by the tests.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(1);

/// The body limit used by the tests.
pub const MAX_BODY: usize = 64 * 1024;

/// Longest request head the responder reads.
const MAX_REQUEST_HEAD: usize = 16 * 1024;

/// Pause between trickled bytes.
const TRICKLE_PAUSE: Duration = Duration::from_millis(100);

/// Size of each chunk of an endless body.
const ENDLESS_CHUNK: usize = 16 * 1024;

/// Runs a test body, failing it if it does not finish in time.
pub async fn bounded<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(TEST_DEADLINE, future).await.expect("test ran past its deadline")
}

/// A test policy: short deadline, small body limit, these `host:port` pairs allowed.
pub fn policy(allow: &[String]) -> FetchPolicy {
    FetchPolicy {
        allow: allow.to_vec(),
        timeout: FETCH_TIMEOUT,
        max_body_bytes: MAX_BODY,
        ..FetchPolicy::default()
    }
}

/// How the responder answers one request.
pub enum Reply {
    /// A complete response.
    Page { status: u16, headers: Vec<(&'static str, String)>, body: Vec<u8> },
    /// Headers promising a body, then one byte per pause, forever.
    Trickle,
    /// HTML headers without a length, then chunks until the client hangs up.
    Endless,
    /// Reads the request and never answers.
    Silent,
    /// HTML headers declaring this body length, then silence.
    Promise(u64),
}

impl Reply {
    /// A 200 with this content type and body.
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self::Page {
            status: 200,
            headers: vec![("Content-Type", content_type.to_owned())],
            body: body.into(),
        }
    }

    /// A redirect with this status to `location`.
    pub fn redirect(status: u16, location: impl Into<String>) -> Self {
        Self::Page { status, headers: vec![("Location", location.into())], body: Vec::new() }
    }

    /// A bare status with no body.
    pub fn status(status: u16) -> Self {
        Self::Page { status, headers: Vec::new(), body: Vec::new() }
    }
}

/// One request as the responder saw it.
#[derive(Debug, Clone)]
pub struct SeenRequest {
    /// The request target, e.g. `/article`.
    pub path: String,
    /// Header names (lowercase) and values.
    pub headers: HashMap<String, String>,
}

/// A running responder.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<SeenRequest>>>,
}

impl Server {
    /// `127.0.0.1:PORT`, as an allow-list entry.
    pub fn host_port(&self) -> String {
        self.addr.to_string()
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Requests received so far.
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.seen.lock().expect("request log").clone()
    }
}

/// Starts a responder on 127.0.0.1 that answers each request with `handler(path)`.
pub async fn serve<H>(handler: H) -> Server
where
    H: Fn(&str) -> Reply + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind responder");
    let addr = listener.local_addr().expect("responder address");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let handler = Arc::new(handler);

    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (handler, log) = (handler.clone(), log.clone());
            tokio::spawn(async move {
                let _ = answer(stream, handler.as_ref(), &log).await;
            });
        }
    });

    Server { addr, seen }
}

async fn answer<H>(
    mut stream: TcpStream,
    handler: &H,
    log: &Mutex<Vec<SeenRequest>>,
) -> io::Result<()>
where
    H: Fn(&str) -> Reply,
{
    let request = read_head(&mut stream).await?;
    let reply = handler(&request.path);
    log.lock().expect("request log").push(request);

    match reply {
        Reply::Page { status, headers, body } => {
            let mut head = format!("HTTP/1.1 {status} Test\r\nConnection: close\r\n");
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));

            stream.write_all(head.as_bytes()).await?;
            stream.write_all(&body).await?;
            stream.shutdown().await
        }
        Reply::Trickle => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1000\r\n\r\n";
            stream.write_all(head.as_bytes()).await?;
            loop {
                stream.write_all(b"a").await?;
                tokio::time::sleep(TRICKLE_PAUSE).await;
            }
        }
        Reply::Endless => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n";
            stream.write_all(head.as_bytes()).await?;
            let chunk = vec![b'x'; ENDLESS_CHUNK];
            loop {
                stream.write_all(&chunk).await?;
            }
        }
        Reply::Silent => {
            std::future::pending::<()>().await;
            Ok(())
        }
        Reply::Promise(length) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {length}\r\n\r\n"
            );
            stream.write_all(head.as_bytes()).await?;
            std::future::pending::<()>().await;
            Ok(())
        }
    }
}

async fn read_head(stream: &mut TcpStream) -> io::Result<SeenRequest> {
    let mut head = Vec::new();
    let mut buf = [0_u8; 1024];

    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST_HEAD {
        let read = stream.read(&mut buf).await?;
        if read == 0 {
            break;
        }
        head.extend_from_slice(&buf[..read]);
    }

    let text = String::from_utf8_lossy(&head);
    let mut lines = text.split("\r\n");
    let path = lines.next().unwrap_or_default().split(' ').nth(1).unwrap_or_default().to_owned();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();

    Ok(SeenRequest { path, headers })
}

/// A listener that a refused fetch must never reach.
pub struct Trap {
    listener: TcpListener,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Trap {
    /// Binds a trap on 127.0.0.1.
    pub async fn new() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind trap");
        let addr = listener.local_addr().expect("trap address");
        Self { listener, addr }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Fails if any connection reached the trap. A connection that was made is already in the
    /// listen backlog, so a short wait is enough.
    pub async fn assert_untouched(&self) {
        let accepted = tokio::time::timeout(Duration::from_millis(100), self.listener.accept());

        assert!(accepted.await.is_err(), "a refused fetch connected to the trap");
    }
}

/// A resolver with fixed answers that counts its lookups; unknown names fail.
#[derive(Default)]
pub struct FixedResolver {
    answers: HashMap<String, Vec<IpAddr>>,
    lookups: AtomicUsize,
}

impl FixedResolver {
    /// Adds an answer for `name`.
    pub fn with(mut self, name: &str, ips: &[&str]) -> Self {
        let ips = ips.iter().map(|ip| ip.parse().expect("test address")).collect();
        self.answers.insert(name.to_owned(), ips);
        self
    }

    /// How many lookups were made.
    pub fn lookups(&self) -> usize {
        self.lookups.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl Resolve for FixedResolver {
    async fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        self.lookups.fetch_add(1, Ordering::SeqCst);

        self.answers.get(host).cloned().ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }
}

/// A resolver that never answers.
pub struct HangingResolver;

#[async_trait::async_trait]
impl Resolve for HangingResolver {
    async fn resolve(&self, _host: &str) -> io::Result<Vec<IpAddr>> {
        std::future::pending().await
    }
}

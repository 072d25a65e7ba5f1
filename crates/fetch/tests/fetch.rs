//! End-to-end guarantees of the fetcher, against servers on 127.0.0.1 started by each test.

mod support;

use std::sync::Arc;

use orator_fetch::{FetchError, FetchPolicy, Fetcher, check_syntax};
use support::{
    FixedResolver, HangingResolver, MAX_BODY, Reply, Server, Trap, bounded, policy, serve,
};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use url::Url;

/// Where a hostile URL is expected to be stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// By `check_syntax`, without any lookup.
    Syntax,
    /// By the fetch, after resolving the name.
    Resolution,
}

fn fetcher(policy: FetchPolicy, resolver: FixedResolver) -> Fetcher {
    Fetcher::with_resolver(policy, Arc::new(resolver))
}

#[expect(clippy::expect_used, reason = "a malformed test URL is a bug in the test")]
fn url(raw: &str) -> Url {
    Url::parse(raw).expect("test URL")
}

/// A responder with an article page and redirects around it.
async fn article_server() -> Server {
    serve(|path| match path {
        "/start" => Reply::redirect(301, "/article"),
        "/article" => Reply::ok("text/html; charset=utf-8", "<html><p>Bonjour, café</p></html>"),
        _ => Reply::status(404),
    })
    .await
}

#[tokio::test]
async fn hostile_urls_are_refused_without_connecting() {
    bounded(async {
        let trap = Trap::new().await;
        let port = trap.port();
        // Loopback cases come before the other private ranges: if vetting ever regressed, an
        // assertion fails on a loopback case before anything could be sent off this machine.
        let cases: Vec<(String, Stage)> = [
            ("file:///etc/passwd", Stage::Syntax),
            ("ftp://x", Stage::Syntax),
            ("gopher://127.0.0.1:{port}/", Stage::Syntax),
            ("http://user:pw@example.com/", Stage::Syntax),
            ("http://user@news.example/", Stage::Syntax),
            ("http://127.0.0.1/", Stage::Syntax),
            ("http://127.0.0.1:{port}/", Stage::Syntax),
            ("https://127.0.0.1:{port}/", Stage::Syntax),
            ("http://[::1]/", Stage::Syntax),
            ("http://[::1]:{port}/", Stage::Syntax),
            ("http://[::]:{port}/", Stage::Syntax),
            ("http://0.0.0.0:{port}/", Stage::Syntax),
            ("http://0:{port}/", Stage::Syntax),
            ("http://[::ffff:127.0.0.1]/", Stage::Syntax),
            ("http://[::ffff:127.0.0.1]:{port}/", Stage::Syntax),
            ("http://[::127.0.0.1]:{port}/", Stage::Syntax),
            ("http://0x7f000001/", Stage::Syntax),
            ("http://0x7f000001:{port}/", Stage::Syntax),
            ("http://2130706433/", Stage::Syntax),
            ("http://2130706433:{port}/", Stage::Syntax),
            ("http://0177.0.0.1:{port}/", Stage::Syntax),
            ("http://127.1/", Stage::Syntax),
            ("http://127.1:{port}/", Stage::Syntax),
            ("http://127\u{3002}0\u{3002}0\u{3002}1:{port}/", Stage::Syntax),
            ("http://localhost./", Stage::Syntax),
            ("http://localhost:{port}/", Stage::Syntax),
            ("http://LOCALHOST:{port}/", Stage::Syntax),
            ("http://localhost%2e:{port}/", Stage::Syntax),
            ("http://api.localhost:{port}/", Stage::Syntax),
            ("http://169.254.169.254/latest/meta-data/", Stage::Syntax),
            ("http://10.0.0.1/", Stage::Syntax),
            ("http://192.168.1.1/", Stage::Syntax),
            ("http://172.16.0.1/", Stage::Syntax),
            ("http://[fd00::1]/", Stage::Syntax),
            ("http://[fe80::1]/", Stage::Syntax),
            ("http://100.64.0.1/", Stage::Syntax),
            ("http://example.com:22/", Stage::Syntax),
            ("http://news.example:6379/", Stage::Syntax),
            ("http://news.example:{port}/", Stage::Resolution),
            ("http://news.example./", Stage::Resolution),
            ("http://dual.example:{port}/", Stage::Resolution),
            ("http://mapped.example:{port}/", Stage::Resolution),
            ("http://metadata.example/latest/meta-data/", Stage::Resolution),
        ]
        .into_iter()
        .map(|(raw, stage)| (raw.replace("{port}", &port.to_string()), stage))
        .collect();
        let policy = FetchPolicy { allowed_ports: vec![80, 443, port], ..policy(&[]) };
        let resolver = FixedResolver::default()
            .with("news.example", &["127.0.0.1"])
            .with("news.example.", &["127.0.0.1"])
            .with("dual.example", &["::1", "127.0.0.1"])
            .with("mapped.example", &["::ffff:127.0.0.1"])
            .with("metadata.example", &["169.254.169.254"]);
        let fetcher = fetcher(policy.clone(), resolver);

        for (raw, stage) in &cases {
            let syntax = check_syntax(raw, &policy);
            match stage {
                Stage::Syntax => assert_eq!(syntax, Err(FetchError::NotAllowed), "{raw}"),
                Stage::Resolution => assert!(syntax.is_ok(), "{raw} should pass the syntax check"),
            }

            if let Ok(parsed) = Url::parse(raw) {
                assert_eq!(fetcher.fetch(&parsed).await, Err(FetchError::NotAllowed), "{raw}");
            }
        }

        trap.assert_untouched().await;
    })
    .await;
}

#[tokio::test]
async fn redirects_to_refused_targets_are_refused() {
    bounded(async {
        let trap = Trap::new().await;
        let port = trap.port();
        let server = serve(move |path| match path {
            "/to-loopback" => Reply::redirect(302, format!("http://127.0.0.1:{port}/")),
            "/to-name" => Reply::redirect(307, format!("http://news.example:{port}/")),
            "/to-hex" => Reply::redirect(308, format!("http://0x7f000001:{port}/")),
            "/to-metadata" => Reply::redirect(301, "http://169.254.169.254/latest/meta-data/"),
            "/to-file" => Reply::redirect(302, "file:///etc/passwd"),
            "/to-credentials" => Reply::redirect(303, format!("http://a:b@127.0.0.1:{port}/")),
            _ => Reply::status(404),
        })
        .await;
        let policy =
            FetchPolicy { allowed_ports: vec![80, 443, port], ..policy(&[server.host_port()]) };
        let resolver = FixedResolver::default().with("news.example", &["127.0.0.1"]);
        let fetcher = fetcher(policy, resolver);
        let paths =
            ["/to-loopback", "/to-name", "/to-hex", "/to-metadata", "/to-file", "/to-credentials"];

        for path in paths {
            let result = fetcher.fetch(&url(&server.url(path))).await;

            assert_eq!(result, Err(FetchError::NotAllowed), "{path}");
        }

        assert_eq!(server.requests().len(), paths.len());
        trap.assert_untouched().await;
    })
    .await;
}

#[tokio::test]
async fn redirect_chain_longer_than_the_limit_fails() {
    bounded(async {
        let server =
            serve(|path| match path.strip_prefix("/chain/").and_then(|n| n.parse().ok()) {
                Some(0_u32) => Reply::ok("text/plain", "end of chain"),
                Some(n) => Reply::redirect(302, format!("/chain/{}", n - 1)),
                None => Reply::redirect(302, "/loop"),
            })
            .await;
        let fetcher = fetcher(policy(&[server.host_port()]), FixedResolver::default());

        let within = fetcher.fetch(&url(&server.url("/chain/5"))).await.expect("5 redirects");
        assert_eq!(within.body, "end of chain");
        assert_eq!(server.requests().len(), 6);

        let beyond = fetcher.fetch(&url(&server.url("/chain/6"))).await;
        assert_eq!(beyond, Err(FetchError::HttpStatus(302)));
        assert_eq!(server.requests().len(), 12);

        let endless = fetcher.fetch(&url(&server.url("/loop"))).await;
        assert_eq!(endless, Err(FetchError::HttpStatus(302)));
        assert_eq!(server.requests().len(), 18);
    })
    .await;
}

#[tokio::test]
async fn redirect_without_location_is_a_failed_fetch() {
    bounded(async {
        let server = serve(|_| Reply::status(302)).await;
        let fetcher = fetcher(policy(&[server.host_port()]), FixedResolver::default());

        let result = fetcher.fetch(&url(&server.url("/"))).await;

        assert_eq!(result, Err(FetchError::HttpStatus(302)));
    })
    .await;
}

#[tokio::test]
async fn trickling_server_hits_the_whole_fetch_deadline() {
    bounded(async {
        let server = serve(|_| Reply::Trickle).await;
        let fetcher = fetcher(policy(&[server.host_port()]), FixedResolver::default());

        let result = fetcher.fetch(&url(&server.url("/"))).await;

        assert_eq!(result, Err(FetchError::Timeout));
    })
    .await;
}

#[tokio::test]
async fn silent_server_hits_the_deadline() {
    bounded(async {
        let server = serve(|_| Reply::Silent).await;
        let fetcher = fetcher(policy(&[server.host_port()]), FixedResolver::default());

        let result = fetcher.fetch(&url(&server.url("/"))).await;

        assert_eq!(result, Err(FetchError::Timeout));
    })
    .await;
}

#[tokio::test]
async fn hanging_resolution_hits_the_deadline() {
    bounded(async {
        let fetcher = Fetcher::with_resolver(policy(&[]), Arc::new(HangingResolver));

        let result = fetcher.fetch(&url("http://news.example/")).await;

        assert_eq!(result, Err(FetchError::Timeout));
    })
    .await;
}

#[tokio::test]
async fn endless_body_is_cut_at_the_limit() {
    bounded(async {
        let server = serve(|_| Reply::Endless).await;
        let fetcher = fetcher(policy(&[server.host_port()]), FixedResolver::default());

        let result = fetcher.fetch(&url(&server.url("/"))).await;

        assert_eq!(result, Err(FetchError::TooLarge));
    })
    .await;
}

#[tokio::test]
async fn declared_oversized_body_is_refused_before_reading() {
    bounded(async {
        let declared = u64::try_from(MAX_BODY + 1).expect("small");
        let server = serve(move |_| Reply::Promise(declared)).await;
        let fetcher = fetcher(policy(&[server.host_port()]), FixedResolver::default());

        let result = fetcher.fetch(&url(&server.url("/"))).await;

        assert_eq!(result, Err(FetchError::TooLarge));
    })
    .await;
}

#[tokio::test]
async fn body_just_over_the_limit_is_refused() {
    bounded(async {
        let server = serve(|_| Reply::ok("text/plain", vec![b'x'; MAX_BODY + 1])).await;
        let fetcher = fetcher(policy(&[server.host_port()]), FixedResolver::default());

        let result = fetcher.fetch(&url(&server.url("/"))).await;

        assert_eq!(result, Err(FetchError::TooLarge));
    })
    .await;
}

#[tokio::test]
async fn body_of_exactly_the_limit_is_accepted() {
    bounded(async {
        let server = serve(|_| Reply::ok("text/plain", vec![b'x'; MAX_BODY])).await;
        let fetcher = fetcher(policy(&[server.host_port()]), FixedResolver::default());

        let page = fetcher.fetch(&url(&server.url("/"))).await.expect("page at the limit");

        assert_eq!(page.body.len(), MAX_BODY);
    })
    .await;
}

#[tokio::test]
async fn non_text_responses_are_unsupported() {
    bounded(async {
        let server = serve(|path| match path {
            "/image" => Reply::ok("image/png", b"\x89PNG\r\n\x1a\n".to_vec()),
            "/pdf" => Reply::ok("application/pdf", "%PDF-1.7"),
            _ => Reply::status(200),
        })
        .await;
        let fetcher = fetcher(policy(&[server.host_port()]), FixedResolver::default());

        for path in ["/image", "/pdf", "/untyped"] {
            let result = fetcher.fetch(&url(&server.url(path))).await;

            assert_eq!(result, Err(FetchError::UnsupportedContentType), "{path}");
        }
    })
    .await;
}

#[tokio::test]
async fn error_statuses_are_reported() {
    bounded(async {
        let server = serve(|path| match path {
            "/gone" => Reply::status(410),
            _ => Reply::status(500),
        })
        .await;
        let fetcher = fetcher(policy(&[server.host_port()]), FixedResolver::default());

        let gone = fetcher.fetch(&url(&server.url("/gone"))).await;
        let broken = fetcher.fetch(&url(&server.url("/broken"))).await;

        assert_eq!(gone, Err(FetchError::HttpStatus(410)));
        assert_eq!(broken, Err(FetchError::HttpStatus(500)));
        assert_eq!(gone.map_err(|e| e.code()), Err("fetch_failed"));
    })
    .await;
}

#[tokio::test]
async fn unreachable_allowed_server_is_a_network_failure() {
    bounded(async {
        let trap = Trap::new().await;
        let addr = trap.addr;
        drop(trap);
        let fetcher = fetcher(policy(&[addr.to_string()]), FixedResolver::default());

        let result = fetcher.fetch(&url(&format!("http://{addr}/"))).await;

        assert_eq!(result, Err(FetchError::Network));
    })
    .await;
}

#[tokio::test]
async fn https_to_a_plain_http_server_fails_as_network() {
    bounded(async {
        // Answers in plain text at once, as a plain HTTP server does to a TLS hello.
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
            }
        });
        let fetcher = fetcher(policy(&[addr.to_string()]), FixedResolver::default());

        let result = fetcher.fetch(&url(&format!("https://{addr}/article"))).await;

        assert_eq!(result, Err(FetchError::Network));
    })
    .await;
}

#[tokio::test]
async fn allowed_loopback_page_is_fetched_after_one_redirect() {
    bounded(async {
        let server = article_server().await;
        let fetcher = fetcher(policy(&[server.host_port()]), FixedResolver::default());

        let page = fetcher.fetch(&url(&server.url("/start"))).await.expect("page");

        assert_eq!(page.final_url, url(&server.url("/article")));
        assert_eq!(page.content_type, "text/html");
        assert_eq!(page.body, "<html><p>Bonjour, café</p></html>");
        let requests = server.requests();
        let paths: Vec<_> = requests.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(paths, ["/start", "/article"]);
        for request in &requests {
            assert_eq!(request.headers["user-agent"], FetchPolicy::default().user_agent);
            assert!(request.headers["accept"].contains("text/html"));
        }
    })
    .await;
}

#[tokio::test]
async fn allowed_name_connects_to_its_vetted_address_with_one_lookup_per_hop() {
    bounded(async {
        let server = article_server().await;
        let entry = format!("news.example:{}", server.port());
        let resolver = Arc::new(FixedResolver::default().with("news.example", &["127.0.0.1"]));
        let fetcher =
            Fetcher::with_resolver(policy(std::slice::from_ref(&entry)), resolver.clone());

        let page = fetcher.fetch(&url(&format!("http://{entry}/start"))).await.expect("page");

        assert_eq!(page.final_url, url(&format!("http://{entry}/article")));
        assert_eq!(resolver.lookups(), 2);
        for request in server.requests() {
            assert_eq!(request.headers["host"], entry);
        }
    })
    .await;
}

#[tokio::test]
async fn declared_charset_is_decoded() {
    bounded(async {
        let server =
            serve(|_| Reply::ok("text/plain; charset=ISO-8859-1", b"caf\xe9".to_vec())).await;
        let fetcher = fetcher(policy(&[server.host_port()]), FixedResolver::default());

        let page = fetcher.fetch(&url(&server.url("/"))).await.expect("page");

        assert_eq!(page.content_type, "text/plain");
        assert_eq!(page.body, "café");
    })
    .await;
}

#[tokio::test]
async fn system_resolver_reaches_an_allowed_localhost_name() {
    bounded(async {
        let server = article_server().await;
        let entry = format!("localhost:{}", server.port());
        let fetcher = Fetcher::new(policy(std::slice::from_ref(&entry)));

        let page = fetcher.fetch(&url(&format!("http://{entry}/article"))).await.expect("page");

        assert_eq!(page.body, "<html><p>Bonjour, café</p></html>");
    })
    .await;
}

#[tokio::test]
async fn system_resolver_fetcher_refuses_localhost_by_default() {
    bounded(async {
        let server = article_server().await;
        let fetcher =
            Fetcher::new(FetchPolicy { allowed_ports: vec![server.port()], ..policy(&[]) });

        let target = url(&format!("http://localhost:{}/article", server.port()));

        let result = fetcher.fetch(&target).await;

        assert_eq!(result, Err(FetchError::NotAllowed));
        assert!(server.requests().is_empty());
    })
    .await;
}

//! The integration-test harness: a [`TestApp`] that drives the real actix application
//! in-process against the machine's real PostgreSQL and Redis.
//!
//! Every `TestApp` gets its own PostgreSQL schema (migrated from scratch), its own Redis key
//! prefix and its own data directory, so tests run in parallel without seeing each other.
//! Builders create users and sessions directly through the domain crate; requests go through
//! the full middleware stack.

#![expect(clippy::expect_used, reason = "a failed test setup should abort the test loudly")]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use actix_web::http::{Method, StatusCode, header};
use actix_web::test;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use orator_api::AppState;
use orator_config::Config;
use orator_domain::{accounts, db};
use serde_json::Value;
use uuid::Uuid;

/// Default server for test schemas.
const DEFAULT_TEST_DATABASE: &str = "postgres://postgres@127.0.0.1:5432/orator_test";
/// Default Redis for tests.
const DEFAULT_TEST_REDIS: &str = "redis://127.0.0.1:6379";
/// A password every builder-made user has; strong enough for the policy.
pub const PASSWORD: &str = "violet-harbor-tangent-42";

/// A fresh, migrated PostgreSQL schema.
#[derive(Debug, Clone)]
pub struct TestDb {
    /// Connection URL whose `search_path` is the schema.
    pub url: String,
    /// The schema's name.
    pub schema: String,
}

impl TestDb {
    /// Creates an empty schema (no migrations).
    pub async fn empty() -> Self {
        let base = std::env::var("ORATOR_TEST_DATABASE_URL")
            .unwrap_or_else(|_| DEFAULT_TEST_DATABASE.to_owned());
        db::ensure_database(&base).await.expect("test database");
        let schema = format!("t_{}", Uuid::new_v4().simple());
        let mut conn = AsyncPgConnection::establish(&base).await.expect("connect to test database");
        diesel::sql_query(format!("CREATE SCHEMA {schema}"))
            .execute(&mut conn)
            .await
            .expect("create schema");

        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-csearch_path%3D{schema}");
        Self { url, schema }
    }

    /// Creates a schema and applies every migration.
    pub async fn migrated() -> Self {
        let test_db = Self::empty().await;
        db::run_migrations(&test_db.url).await.expect("migrations");
        test_db
    }

    /// A direct connection to the schema.
    pub async fn conn(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.url).await.expect("connect to test schema")
    }
}

/// A user made by a builder.
#[derive(Debug, Clone)]
pub struct TestUser {
    /// Identifier.
    pub id: Uuid,
    /// Address.
    pub email: String,
    /// Password.
    pub password: String,
}

/// A signed-in session.
#[derive(Debug, Clone)]
pub struct TestSession {
    /// The bearer / cookie token.
    pub token: String,
    /// The CSRF token.
    pub csrf: String,
}

/// How a request authenticates.
#[derive(Debug, Clone)]
pub enum As {
    /// No credential.
    Anonymous,
    /// `Authorization: Bearer`.
    Bearer(String),
    /// The session cookie, without the CSRF header.
    CookieWithoutCsrf(TestSession),
    /// The session cookie and the CSRF header.
    Cookie(TestSession),
}

/// A response, read whole.
#[derive(Debug)]
pub struct TestResponse {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: header::HeaderMap,
    /// `Set-Cookie` header values.
    pub set_cookies: Vec<String>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl TestResponse {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|value| value.to_str().ok()).map(str::to_owned)
    }

    /// The `Set-Cookie` line for one cookie.
    pub fn cookie_line(&self, name: &str) -> Option<&str> {
        let prefix = format!("{name}=");
        self.set_cookies.iter().map(String::as_str).find(|line| line.starts_with(&prefix))
    }

    /// The value a `Set-Cookie` line gives a cookie.
    pub fn cookie_value(&self, name: &str) -> Option<String> {
        let line = self.cookie_line(name)?;
        let value = line.split(';').next()?.split_once('=')?.1;
        Some(value.to_owned())
    }

    /// The problem document's `code`.
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }
}

/// The application under test. See the crate documentation.
#[derive(Clone)]
pub struct TestApp {
    /// The application state handlers see.
    pub state: AppState,
    /// The schema.
    pub db: TestDb,
    /// Per-test data directory (storage, mail spool).
    pub data_dir: PathBuf,
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp").field("schema", &self.db.schema).finish_non_exhaustive()
    }
}

/// Starts building a [`TestApp`].
#[derive(Debug, Default)]
pub struct TestAppBuilder {
    overrides: HashMap<String, String>,
    database: Option<TestDb>,
}

impl TestAppBuilder {
    /// Sets one configuration variable.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.overrides.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Uses an existing schema instead of a new one.
    pub fn database(mut self, test_db: TestDb) -> Self {
        self.database = Some(test_db);
        self
    }

    /// Builds the app.
    pub async fn build(self) -> TestApp {
        let test_db = match self.database {
            Some(test_db) => test_db,
            None => TestDb::migrated().await,
        };
        let data_dir = std::env::temp_dir().join(format!("orator-test-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&data_dir).expect("data dir");

        let mut vars: HashMap<String, String> = HashMap::from([
            ("DATABASE_URL".to_owned(), test_db.url.clone()),
            (
                "REDIS_URL".to_owned(),
                std::env::var("ORATOR_TEST_REDIS_URL")
                    .unwrap_or_else(|_| DEFAULT_TEST_REDIS.to_owned()),
            ),
            ("ORATOR_QUEUE_PREFIX".to_owned(), format!("orator-test-{}", Uuid::new_v4().simple())),
            ("ORATOR_DATA_DIR".to_owned(), data_dir.display().to_string()),
            ("ORATOR_PUBLIC_URL".to_owned(), "https://orator.test".to_owned()),
            ("ORATOR_DATABASE_POOL_SIZE".to_owned(), "4".to_owned()),
            ("ORATOR_HEALTH_CHECK_TIMEOUT_MS".to_owned(), "500".to_owned()),
            ("ORATOR_REDIS_TIMEOUT_MS".to_owned(), "500".to_owned()),
            ("ORATOR_DATABASE_ACQUIRE_TIMEOUT_MS".to_owned(), "1000".to_owned()),
            ("ORATOR_SPEECH_ENGINE".to_owned(), "local".to_owned()),
        ]);
        vars.extend(self.overrides);
        let config = Config::from_lookup(|name| vars.get(name).cloned()).expect("test config");
        let state = build_state(Arc::new(config)).await;

        TestApp { state, db: test_db, data_dir }
    }
}

async fn build_state(config: Arc<Config>) -> AppState {
    let pool = db::pool(
        config.database_url.expose(),
        config.database_pool_size,
        Config::millis(config.database_acquire_timeout_ms),
    )
    .expect("pool");
    let kv = orator_kv::Kv::new(
        config.redis_url.expose(),
        &config.queue_prefix,
        Config::millis(config.redis_timeout_ms),
    )
    .expect("redis handle");
    let stores = orator_storage::Stores::from_config(&config).await.expect("storage");
    let mailer = orator_mail::Mailer::spool(config.mail_dir(), &config.mail_from).expect("mailer");
    let speech = orator_speech::Speech::from_config(&config).await.expect("speech engine");

    AppState::new(config, pool, kv, stores, mailer, Arc::new(speech))
}

impl TestApp {
    /// A builder for an app with non-default settings.
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder::default()
    }

    /// An app with the default test settings.
    pub async fn new() -> Self {
        Self::builder().build().await
    }

    /// A second app instance (another "replica") on the same schema and Redis prefix.
    pub async fn replica(&self) -> Self {
        Self { state: build_state(self.state.config.clone()).await, ..self.clone() }
    }

    /// Sends a request through the whole application.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        who: &As,
        body: Option<Value>,
    ) -> TestResponse {
        let mut request = test::TestRequest::default()
            .method(method)
            .uri(path)
            .peer_addr("203.0.113.7:40000".parse().expect("address"));
        request = match who {
            As::Anonymous => request,
            As::Bearer(token) => {
                request.insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
            }
            As::CookieWithoutCsrf(session) => request.insert_header((
                header::COOKIE,
                format!("orator_session={}; orator_csrf={}", session.token, session.csrf),
            )),
            As::Cookie(session) => request
                .insert_header((
                    header::COOKIE,
                    format!("orator_session={}; orator_csrf={}", session.token, session.csrf),
                ))
                .insert_header(("X-CSRF-Token", session.csrf.clone())),
        };
        if let Some(body) = body {
            request = request.set_json(body);
        }

        self.call(request).await
    }

    /// Sends a prepared request.
    pub async fn call(&self, request: test::TestRequest) -> TestResponse {
        let service = test::init_service(orator_api::app(self.state.clone())).await;
        let response = test::call_service(&service, request.to_request()).await;

        let status = response.status();
        let headers = response.headers().clone();
        let set_cookies = headers
            .get_all(header::SET_COOKIE)
            .filter_map(|value| value.to_str().ok().map(str::to_owned))
            .collect();
        let body = test::read_body(response).await.to_vec();

        TestResponse { status, headers, set_cookies, body }
    }

    /// `GET` shorthand.
    pub async fn get(&self, path: &str, who: &As) -> TestResponse {
        self.send(Method::GET, path, who, None).await
    }

    /// `POST` with a JSON body.
    pub async fn post(&self, path: &str, who: &As, body: Value) -> TestResponse {
        self.send(Method::POST, path, who, Some(body)).await
    }

    /// A user made directly through the domain, verified unless `verified` is false.
    pub async fn user_with(&self, verified: bool) -> TestUser {
        let email = format!("reader-{}@example.com", Uuid::new_v4().simple());
        let mut conn = self.db.conn().await;
        let (user, _) =
            accounts::register(&mut conn, &self.state.accounts, &email, PASSWORD, None, false)
                .await
                .expect("register user");
        if verified {
            use diesel::ExpressionMethods;
            use orator_domain::schema::users;
            diesel::update(users::table)
                .filter(users::id.eq(user.id))
                .set(users::email_verified_at.eq(chrono::Utc::now()))
                .execute(&mut conn)
                .await
                .expect("verify user");
        }

        TestUser { id: user.id, email, password: PASSWORD.to_owned() }
    }

    /// A verified user.
    pub async fn user(&self) -> TestUser {
        self.user_with(true).await
    }

    /// A text document owned by `owner`, made directly through the domain (with its parse job
    /// queued but not run).
    pub async fn document_row(
        &self,
        owner: Uuid,
        title: &str,
    ) -> orator_domain::documents::Document {
        use orator_domain::documents::{self, NewDocument, SourceKind};

        let new = NewDocument {
            owner_id: owner,
            title: title.to_owned(),
            auto_title: false,
            source_kind: SourceKind::Text,
            source_url: None,
            original_filename: None,
            content_type: None,
            size_bytes: None,
            storage_key: None,
        };
        let mut conn = self.db.conn().await;
        documents::create(&mut conn, &new, 3).await.expect("document")
    }

    /// A ready document of `owner` with one page of `markdown` (its parse job finds nothing
    /// to do).
    pub async fn ready_page(
        &self,
        owner: Uuid,
        title: &str,
        markdown: &str,
    ) -> (orator_domain::documents::Document, orator_domain::documents::Page) {
        use diesel::{ExpressionMethods, QueryDsl};
        use orator_domain::schema::documents;

        let document = self.document_row(owner, title).await;
        let mut conn = self.db.conn().await;
        diesel::update(documents::table.find(document.id))
            .set(documents::status.eq("ready"))
            .execute(&mut conn)
            .await
            .expect("document ready");
        let page = orator_domain::documents::append_page(&mut conn, document.id, markdown)
            .await
            .expect("page");

        (document, page)
    }

    /// Signs `user` in through the API.
    pub async fn login(&self, user: &TestUser) -> TestSession {
        let body = serde_json::json!({"email": user.email, "password": user.password});
        let response = self.post("/api/v1/auth/login", &As::Anonymous, body).await;
        assert_eq!(response.status, StatusCode::OK, "login failed: {}", response.text());

        TestSession {
            token: response.json()["token"].as_str().expect("token").to_owned(),
            csrf: response.cookie_value("orator_csrf").expect("csrf cookie"),
        }
    }

    /// Every mail in the spool, decoded, oldest first.
    pub fn mails(&self) -> Vec<String> {
        let dir = self.data_dir.join("mail");
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "eml"))
                    .map(|entry| {
                        let modified = entry
                            .metadata()
                            .and_then(|meta| meta.modified())
                            .unwrap_or(std::time::UNIX_EPOCH);
                        (modified, entry.path())
                    })
                    .collect()
            })
            .unwrap_or_default();
        files.sort();

        files
            .into_iter()
            .filter_map(|(_, path)| std::fs::read_to_string(path).ok())
            .map(|raw| decode_quoted_printable(&raw))
            .collect()
    }

    /// The token of the newest mail to `email` whose link goes to `page`.
    pub fn token_from_mail(&self, email: &str, page: &str) -> Option<String> {
        let marker = format!("{page}?token=");
        self.mails().into_iter().rev().find(|mail| mail.contains(&format!("To: {email}"))).and_then(
            |mail| {
                let start = mail.find(&marker)? + marker.len();
                let token: String = mail[start..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
                    .collect();
                Some(token)
            },
        )
    }
}

impl TestApp {
    /// The worker's view of this app: same database, storage, configuration and Redis.
    pub fn worker_context(&self) -> orator_worker::WorkerContext {
        let policy = self.state.fetch_policy.clone();
        orator_worker::WorkerContext::new(
            self.state.db.clone(),
            self.state.config.clone(),
            self.state.storage.clone(),
            orator_fetch::Fetcher::new(policy),
            self.state.speech.clone(),
            self.state.kv.clone(),
        )
    }

    /// Runs every due job in the outbox through the worker's code path (claim, run, record),
    /// until none is left; returns how many deliveries were processed.
    pub async fn run_pending_jobs(&self) -> usize {
        use diesel::{ExpressionMethods, QueryDsl};
        use orator_domain::schema::job_outbox;

        let ctx = self.worker_context();
        let mut processed = 0;
        loop {
            let mut conn = self.db.conn().await;
            let due: Vec<i64> = job_outbox::table
                .filter(job_outbox::status.eq_any(["pending", "enqueued"]))
                .filter(job_outbox::run_after.le(chrono::Utc::now()))
                .select(job_outbox::id)
                .order(job_outbox::id)
                .load(&mut conn)
                .await
                .expect("due jobs");
            if due.is_empty() {
                return processed;
            }
            for id in due {
                orator_worker::process(&ctx, id).await.expect("job bookkeeping");
                processed += 1;
            }
        }
    }

    /// Runs jobs until the outbox holds none that is waiting or running (retries included,
    /// so keep the backoff short), for at most `limit`; returns how many deliveries ran.
    pub async fn run_jobs_to_completion(&self, limit: std::time::Duration) -> usize {
        use diesel::{ExpressionMethods, QueryDsl};
        use orator_domain::schema::job_outbox;

        let started = std::time::Instant::now();
        let mut processed = 0;
        loop {
            processed += self.run_pending_jobs().await;
            let mut conn = self.db.conn().await;
            let open: i64 = job_outbox::table
                .filter(job_outbox::status.eq_any(["pending", "enqueued", "running"]))
                .count()
                .get_result(&mut conn)
                .await
                .expect("open jobs");
            if open == 0 || started.elapsed() > limit {
                return processed;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Uploads `bytes` as a multipart form with the given file name (and title, if any).
    pub async fn upload(
        &self,
        who: &As,
        filename: &str,
        bytes: &[u8],
        title: Option<&str>,
    ) -> TestResponse {
        let boundary = format!("orator-{}", Uuid::new_v4().simple());
        let mut body = Vec::new();
        if let Some(title) = title {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n{title}\r\n")
                    .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());

        let mut request = test::TestRequest::post()
            .uri("/api/v1/documents")
            .insert_header((
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            ))
            .peer_addr("203.0.113.7:40000".parse().expect("address"))
            .set_payload(body);
        if let As::Bearer(token) = who {
            request = request.insert_header((header::AUTHORIZATION, format!("Bearer {token}")));
        }

        self.call(request).await
    }

    /// A verified user with a session made directly through the domain (so it works even
    /// when the app under test cannot reach Redis), as a bearer credential.
    pub async fn signed_in(&self) -> (TestUser, As) {
        let user = self.user().await;
        let mut conn = self.db.conn().await;
        let session = accounts::start_session(&mut conn, &self.state.accounts, user.id, None)
            .await
            .expect("session");
        (user, As::Bearer(session.token.plaintext))
    }
}

/// Undoes quoted-printable encoding (soft line breaks and `=XX` escapes).
pub fn decode_quoted_printable(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escape = bytes.get(index + 1..index + 3).filter(|_| bytes[index] == b'=');
        match escape.and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()) {
            Some(byte) => {
                out.push(byte);
                index += 3;
            }
            None => {
                out.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A log sink for tests: everything written to it is kept in memory.
#[derive(Debug, Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Everything logged so far.
    pub fn contents(&self) -> String {
        let buffer = self.0.lock().map(|buffer| buffer.clone()).unwrap_or_default();
        String::from_utf8_lossy(&buffer).into_owned()
    }

    /// A JSON subscriber writing into this sink, at debug level.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + use<> {
        let sink = self.clone();
        tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || sink.clone())
            .finish()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut buffer) = self.0.lock() {
            buffer.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

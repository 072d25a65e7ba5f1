//! Boot configuration, read once from the environment and checked before anything starts.
//!
//! Every limit, timeout and quota the service uses is declared here exactly once, with its
//! environment variable, its default and a one-line description. The same declaration
//! produces the typed [`Config`] struct, the parser, and the documentation table
//! ([`Config::documentation`]) that the README reproduces, so they cannot drift apart.
//!
//! A bad value stops the process with a message naming the variable; secrets are held in
//! [`Secret`], whose `Debug` and `Display` print nothing.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

mod secret;

pub use secret::Secret;

/// A configuration value that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid value for {variable}: {reason}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub variable: &'static str,
    /// Why the value was refused (never the value itself: it may be a secret).
    pub reason: String,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable text, for a terminal.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err("expected `text` or `json`".to_owned()),
        }
    }
}

/// Which speech engine synthesizes audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpeechEngineChoice {
    /// Amazon Polly (or a Polly-compatible endpoint), through the AWS SDK.
    Polly,
    /// espeak-ng and lame on this machine, run as programs.
    Local,
}

impl FromStr for SpeechEngineChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "polly" => Ok(Self::Polly),
            "local" => Ok(Self::Local),
            _ => Err("expected `polly` or `local`".to_owned()),
        }
    }
}

/// Which Polly voice technology speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollyVoiceEngine {
    /// Standard (concatenative) voices: offered by every voice, cheapest.
    Standard,
    /// Neural voices: more natural, offered by fewer voices.
    Neural,
}

impl FromStr for PollyVoiceEngine {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "standard" => Ok(Self::Standard),
            "neural" => Ok(Self::Neural),
            _ => Err("expected `standard` or `neural`".to_owned()),
        }
    }
}

/// A value that can be parsed from one environment variable.
pub trait FromSetting: Sized {
    /// Parses the raw text of the variable.
    fn from_setting(raw: &str) -> Result<Self, String>;
}

macro_rules! from_str_setting {
    ($($ty:ty),*) => {
        $(impl FromSetting for $ty {
            fn from_setting(raw: &str) -> Result<Self, String> {
                raw.trim().parse::<$ty>().map_err(|err| err.to_string())
            }
        })*
    };
}

from_str_setting!(
    u8,
    u16,
    u32,
    u64,
    usize,
    SocketAddr,
    LogFormat,
    SpeechEngineChoice,
    PollyVoiceEngine
);

impl FromSetting for bool {
    fn from_setting(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err("expected true or false".to_owned()),
        }
    }
}

impl FromSetting for String {
    fn from_setting(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("must not be empty".to_owned());
        }
        Ok(trimmed.to_owned())
    }
}

impl FromSetting for PathBuf {
    fn from_setting(raw: &str) -> Result<Self, String> {
        String::from_setting(raw).map(PathBuf::from)
    }
}

impl FromSetting for url::Url {
    fn from_setting(raw: &str) -> Result<Self, String> {
        let url = url::Url::parse(raw.trim()).map_err(|err| err.to_string())?;
        match url.scheme() {
            "http" | "https" => Ok(url),
            _ => Err("expected an http or https URL".to_owned()),
        }
    }
}

impl<T: FromSetting> FromSetting for Option<T> {
    fn from_setting(raw: &str) -> Result<Self, String> {
        if raw.trim().is_empty() {
            return Ok(None);
        }
        T::from_setting(raw).map(Some)
    }
}

/// One documented setting: the row the README's configuration table is made from.
#[derive(Debug, Clone, Copy)]
pub struct SettingDoc {
    /// The environment variable.
    pub variable: &'static str,
    /// The default, as text ("" when there is none).
    pub default: &'static str,
    /// What the setting controls.
    pub description: &'static str,
}

macro_rules! settings {
    ($($(#[doc = $doc:literal])+ $field:ident: $ty:ty = $var:literal, $default:literal;)*) => {
        /// The service's boot configuration. See the module documentation.
        #[derive(Debug, Clone)]
        pub struct Config {
            $($(#[doc = $doc])+ pub $field: $ty,)*
        }

        impl Config {
            /// Reads every setting through `lookup` (usually the process environment).
            pub fn from_lookup(
                lookup: impl Fn(&str) -> Option<String>,
            ) -> Result<Self, ConfigError> {
                let config = Self {
                    $($field: read::<$ty>(&lookup, $var, $default)?,)*
                };
                config.check()?;
                Ok(config)
            }

            /// The documentation of every setting, in declaration order.
            pub fn documentation() -> Vec<SettingDoc> {
                vec![$(SettingDoc {
                    variable: $var,
                    default: $default,
                    description: concat!($($doc),+).trim_ascii(),
                },)*]
            }
        }
    };
}

settings! {
    /// PostgreSQL connection URL; the database is created if it does not exist.
    database_url: Secret<String> = "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/orator";
    /// Maximum number of pooled PostgreSQL connections per process.
    database_pool_size: usize = "ORATOR_DATABASE_POOL_SIZE", "16";
    /// How long a request waits for a pooled database connection, in milliseconds.
    database_acquire_timeout_ms: u64 = "ORATOR_DATABASE_ACQUIRE_TIMEOUT_MS", "3000";
    /// Redis connection URL.
    redis_url: Secret<String> = "REDIS_URL", "redis://127.0.0.1:6379";
    /// Prefix of every Redis key, so deployments or test runs can share one Redis.
    queue_prefix: String = "ORATOR_QUEUE_PREFIX", "orator";
    /// Time limit for one Redis command or connection attempt, in milliseconds.
    redis_timeout_ms: u64 = "ORATOR_REDIS_TIMEOUT_MS", "2000";
    /// Address the HTTP API listens on.
    listen: SocketAddr = "ORATOR_LISTEN", "127.0.0.1:8080";
    /// The URL clients use to reach the service (links in mails, signed URLs).
    public_url: url::Url = "ORATOR_PUBLIC_URL", "http://127.0.0.1:8080";
    /// Directory for local storage and the local mail spool.
    data_dir: PathBuf = "ORATOR_DATA_DIR", "./var";
    /// Mark cookies `Secure` and send HSTS; turn off only for plain-http local use.
    secure_cookies: bool = "ORATOR_SECURE_COOKIES", "true";
    /// `text` for people, `json` for log collectors.
    log_format: LogFormat = "ORATOR_LOG_FORMAT", "text";
    /// SMTP server URL (`smtps://user:pass@host`); without it mails go to `$ORATOR_DATA_DIR/mail`.
    smtp_url: Option<Secret<String>> = "ORATOR_SMTP_URL", "";
    /// Sender address of outgoing mail.
    mail_from: String = "ORATOR_MAIL_FROM", "Orator <no-reply@orator.invalid>";
    /// Refuse uploads and audio generation to users whose email is not verified.
    require_email_verification: bool = "ORATOR_REQUIRE_EMAIL_VERIFICATION", "true";
    /// Shortest accepted password, in characters.
    password_min_length: usize = "ORATOR_PASSWORD_MIN_LENGTH", "10";
    /// Lowest accepted password strength on zxcvbn's 0–4 scale (common passwords score 0–1).
    password_min_strength: u8 = "ORATOR_PASSWORD_MIN_STRENGTH", "2";
    /// Trust `X-Forwarded-For` for the client address (only behind a proxy that sets it).
    trust_proxy_headers: bool = "ORATOR_TRUST_PROXY_HEADERS", "false";
    /// A session unused for this long expires, in seconds.
    session_idle_timeout_secs: u64 = "ORATOR_SESSION_IDLE_TIMEOUT_SECS", "604800";
    /// A session expires this long after login whatever its use, in seconds.
    session_max_age_secs: u64 = "ORATOR_SESSION_MAX_AGE_SECS", "2592000";
    /// Failed logins allowed per email and per client address within the window.
    login_max_failures: u32 = "ORATOR_LOGIN_MAX_FAILURES", "5";
    /// Window of the failed-login limit, in seconds; also the lockout length.
    login_window_secs: u64 = "ORATOR_LOGIN_WINDOW_SECS", "900";
    /// Password-reset mails allowed per address per hour.
    password_reset_per_hour: u32 = "ORATOR_PASSWORD_RESET_PER_HOUR", "3";
    /// Registrations allowed per client address per hour.
    registrations_per_hour: u32 = "ORATOR_REGISTRATIONS_PER_HOUR", "20";
    /// Lifetime of an email-verification link, in seconds.
    verify_email_ttl_secs: u64 = "ORATOR_VERIFY_EMAIL_TTL_SECS", "172800";
    /// Lifetime of a password-reset link, in seconds.
    password_reset_ttl_secs: u64 = "ORATOR_PASSWORD_RESET_TTL_SECS", "3600";
    /// Personal API tokens a user may hold at once.
    max_api_tokens_per_user: u32 = "ORATOR_MAX_API_TOKENS_PER_USER", "20";
    /// Largest accepted JSON request body, in bytes.
    json_body_limit_bytes: usize = "ORATOR_JSON_BODY_LIMIT_BYTES", "2097152";
    /// Time limit of each dependency check in `/health/ready`, in milliseconds.
    health_check_timeout_ms: u64 = "ORATOR_HEALTH_CHECK_TIMEOUT_MS", "1000";
    /// Seconds a client is told to wait (`Retry-After`) when a dependency is down.
    unavailable_retry_after_secs: u64 = "ORATOR_UNAVAILABLE_RETRY_AFTER_SECS", "5";
    /// How long in-flight requests and jobs may take to finish at shutdown, in seconds.
    shutdown_grace_secs: u64 = "ORATOR_SHUTDOWN_GRACE_SECS", "30";
    /// HTTP worker threads (0 = one per core).
    http_workers: usize = "ORATOR_HTTP_WORKERS", "0";
    /// Jobs one worker process runs at the same time.
    worker_concurrency: usize = "ORATOR_WORKER_CONCURRENCY", "4";
    /// How often an idle worker asks Redis for work, in milliseconds.
    worker_poll_interval_ms: u64 = "ORATOR_WORKER_POLL_INTERVAL_MS", "200";
    /// Worker heartbeat period, in seconds.
    worker_heartbeat_secs: u64 = "ORATOR_WORKER_HEARTBEAT_SECS", "5";
    /// Missed heartbeats after which a worker's Redis jobs go back to the queue.
    worker_missed_heartbeats: u32 = "ORATOR_WORKER_MISSED_HEARTBEATS", "3";
    /// Attempts a job gets before it is marked failed for good.
    job_max_attempts: u32 = "ORATOR_JOB_MAX_ATTEMPTS", "5";
    /// First retry delay before jitter, in milliseconds; doubles per attempt.
    job_backoff_base_ms: u64 = "ORATOR_JOB_BACKOFF_BASE_MS", "2000";
    /// Longest retry delay before jitter, in milliseconds.
    job_backoff_max_ms: u64 = "ORATOR_JOB_BACKOFF_MAX_MS", "600000";
    /// Time a job may run before it stops itself, records the failure and cleans up, in seconds.
    job_soft_timeout_secs: u64 = "ORATOR_JOB_SOFT_TIMEOUT_SECS", "300";
    /// Time after which a job is abandoned whatever it is doing, in seconds (the backstop).
    job_hard_timeout_secs: u64 = "ORATOR_JOB_HARD_TIMEOUT_SECS", "330";
    /// A running job whose worker has not renewed its lease for this long is retried, in seconds.
    job_lease_secs: u64 = "ORATOR_JOB_LEASE_SECS", "420";
    /// Most jobs handed to Redis but not yet started; the rest wait in PostgreSQL.
    relay_max_backlog: u32 = "ORATOR_RELAY_MAX_BACKLOG", "1000";
    /// How often the outbox relay and the lease sweeper run, in milliseconds.
    relay_interval_ms: u64 = "ORATOR_RELAY_INTERVAL_MS", "500";
    /// How often periodic maintenance (expired sessions, orphaned uploads) is scheduled, in seconds.
    maintenance_interval_secs: u64 = "ORATOR_MAINTENANCE_INTERVAL_SECS", "3600";
    /// Finished outbox rows are deleted after this many seconds.
    job_retention_secs: u64 = "ORATOR_JOB_RETENTION_SECS", "604800";
    /// Largest accepted upload (file or pasted text), in bytes; enforced while streaming.
    upload_max_bytes: usize = "ORATOR_UPLOAD_MAX_BYTES", "52428800";
    /// Longest page, in characters; longer text is split at headings or paragraphs.
    page_max_chars: usize = "ORATOR_PAGE_MAX_CHARS", "10000";
    /// Largest Markdown accepted when a page is edited, in bytes.
    page_edit_max_bytes: usize = "ORATOR_PAGE_EDIT_MAX_BYTES", "1048576";
    /// Most pages one document may have.
    document_max_pages: usize = "ORATOR_DOCUMENT_MAX_PAGES", "2000";
    /// Most characters extracted from one document.
    document_max_chars: usize = "ORATOR_DOCUMENT_MAX_CHARS", "5000000";
    /// Most bytes a DOCX may inflate to (zip-bomb guard).
    docx_max_inflated_bytes: u64 = "ORATOR_DOCX_MAX_INFLATED_BYTES", "209715200";
    /// Time allowed to extract text from one document, in seconds.
    parse_timeout_secs: u64 = "ORATOR_PARSE_TIMEOUT_SECS", "120";
    /// Retries of a failed document one user may ask for per hour.
    document_retries_per_hour: u32 = "ORATOR_DOCUMENT_RETRIES_PER_HOUR", "5";
    /// Shares one user may create per hour.
    shares_per_hour: u32 = "ORATOR_SHARES_PER_HOUR", "50";
    /// Uploaded objects with no document are removed after this many seconds.
    orphan_grace_secs: u64 = "ORATOR_ORPHAN_GRACE_SECS", "3600";
    /// `host:port` pairs URL imports may reach even when private (comma-separated).
    url_allow: Option<String> = "ORATOR_URL_ALLOW", "";
    /// Time limit of a URL import's fetch, in seconds.
    fetch_timeout_secs: u64 = "ORATOR_FETCH_TIMEOUT_SECS", "10";
    /// Largest fetched page, in bytes.
    fetch_max_bytes: usize = "ORATOR_FETCH_MAX_BYTES", "5242880";
    /// Redirects a URL import follows at most.
    fetch_max_redirects: usize = "ORATOR_FETCH_MAX_REDIRECTS", "5";
    /// Lifetime of signed download and playback URLs, in seconds.
    signed_url_ttl_secs: u64 = "ORATOR_SIGNED_URL_TTL_SECS", "3600";
    /// Key that signs local-storage URLs; set the same value on every replica.
    signing_key: Option<Secret<String>> = "ORATOR_SIGNING_KEY", "";
    /// S3 bucket for stored objects; without it objects go to `$ORATOR_DATA_DIR/storage`.
    s3_bucket: Option<String> = "ORATOR_S3_BUCKET", "";
    /// Use path-style S3 URLs (for S3-compatible servers).
    s3_force_path_style: bool = "ORATOR_S3_FORCE_PATH_STYLE", "false";
    /// AWS region for S3 and Polly.
    aws_region: Option<String> = "AWS_REGION", "";
    /// Endpoint URL for S3-compatible or test servers.
    aws_endpoint_url: Option<String> = "AWS_ENDPOINT_URL", "";
    /// AWS access key id (with the secret key, used instead of the default credential chain).
    aws_access_key_id: Option<Secret<String>> = "AWS_ACCESS_KEY_ID", "";
    /// AWS secret access key.
    aws_secret_access_key: Option<Secret<String>> = "AWS_SECRET_ACCESS_KEY", "";
    /// `polly` or `local`; without it, `polly` when `AWS_REGION` is set and `local` otherwise.
    speech_engine: Option<SpeechEngineChoice> = "ORATOR_SPEECH_ENGINE", "";
    /// Endpoint URL for Polly only (a Polly-compatible server); falls back to `AWS_ENDPOINT_URL`.
    polly_endpoint_url: Option<String> = "AWS_ENDPOINT_URL_POLLY", "";
    /// Polly voice technology: `standard` or `neural`.
    polly_engine: PollyVoiceEngine = "ORATOR_POLLY_ENGINE", "standard";
    /// The local engine's speech program.
    espeak_path: PathBuf = "ORATOR_ESPEAK_PATH", "espeak-ng";
    /// The local engine's MP3 encoder program.
    lame_path: PathBuf = "ORATOR_LAME_PATH", "lame";
    /// Time limit of one speech-engine call, in seconds.
    speech_call_timeout_secs: u64 = "ORATOR_SPEECH_CALL_TIMEOUT_SECS", "30";
    /// Speech-engine calls per second, shared by every worker through Redis.
    speech_calls_per_second: u32 = "ORATOR_SPEECH_CALLS_PER_SECOND", "8";
    /// Speech-engine calls one worker process makes at the same time.
    speech_concurrency: usize = "ORATOR_SPEECH_CONCURRENCY", "4";
    /// Retries of a failed audio one user may ask for per hour.
    audio_retries_per_hour: u32 = "ORATOR_AUDIO_RETRIES_PER_HOUR", "10";
}

fn read<T: FromSetting>(
    lookup: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: &'static str,
) -> Result<T, ConfigError> {
    let raw = lookup(variable).unwrap_or_else(|| default.to_owned());

    T::from_setting(&raw).map_err(|reason| ConfigError { variable, reason })
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    fn check(&self) -> Result<(), ConfigError> {
        let positive: [(&'static str, u64); 15] = [
            ("ORATOR_DATABASE_POOL_SIZE", self.database_pool_size as u64),
            ("ORATOR_SESSION_IDLE_TIMEOUT_SECS", self.session_idle_timeout_secs),
            ("ORATOR_SESSION_MAX_AGE_SECS", self.session_max_age_secs),
            ("ORATOR_LOGIN_MAX_FAILURES", u64::from(self.login_max_failures)),
            ("ORATOR_LOGIN_WINDOW_SECS", self.login_window_secs),
            ("ORATOR_WORKER_CONCURRENCY", self.worker_concurrency as u64),
            ("ORATOR_WORKER_POLL_INTERVAL_MS", self.worker_poll_interval_ms),
            ("ORATOR_WORKER_HEARTBEAT_SECS", self.worker_heartbeat_secs),
            ("ORATOR_JOB_MAX_ATTEMPTS", u64::from(self.job_max_attempts)),
            ("ORATOR_JOB_SOFT_TIMEOUT_SECS", self.job_soft_timeout_secs),
            ("ORATOR_RELAY_MAX_BACKLOG", u64::from(self.relay_max_backlog)),
            ("ORATOR_RELAY_INTERVAL_MS", self.relay_interval_ms),
            ("ORATOR_SPEECH_CALL_TIMEOUT_SECS", self.speech_call_timeout_secs),
            ("ORATOR_SPEECH_CALLS_PER_SECOND", u64::from(self.speech_calls_per_second)),
            ("ORATOR_SPEECH_CONCURRENCY", self.speech_concurrency as u64),
        ];
        for (variable, value) in positive {
            if value == 0 {
                return Err(invalid(variable, "must be greater than zero"));
            }
        }

        if self.job_hard_timeout_secs <= self.job_soft_timeout_secs {
            return Err(invalid(
                "ORATOR_JOB_HARD_TIMEOUT_SECS",
                "must be longer than ORATOR_JOB_SOFT_TIMEOUT_SECS",
            ));
        }
        if self.job_lease_secs <= self.job_hard_timeout_secs {
            return Err(invalid(
                "ORATOR_JOB_LEASE_SECS",
                "must be longer than ORATOR_JOB_HARD_TIMEOUT_SECS",
            ));
        }
        if self.password_min_length < 8 {
            return Err(invalid("ORATOR_PASSWORD_MIN_LENGTH", "must be at least 8"));
        }
        if self.password_min_strength > 4 {
            return Err(invalid("ORATOR_PASSWORD_MIN_STRENGTH", "must be between 0 and 4"));
        }
        if self.queue_prefix.contains(char::is_whitespace) {
            return Err(invalid("ORATOR_QUEUE_PREFIX", "must not contain spaces"));
        }
        if !self.database_url.expose().starts_with("postgres") {
            return Err(invalid("DATABASE_URL", "expected a postgres:// URL"));
        }
        if !self.redis_url.expose().starts_with("redis") {
            return Err(invalid("REDIS_URL", "expected a redis:// or rediss:// URL"));
        }

        Ok(())
    }

    /// Converts a millisecond setting to a [`Duration`].
    pub fn millis(value: u64) -> Duration {
        Duration::from_millis(value)
    }

    /// Converts a second setting to a [`Duration`].
    pub fn secs(value: u64) -> Duration {
        Duration::from_secs(value)
    }

    /// Where stored objects live when no bucket is configured.
    pub fn storage_dir(&self) -> PathBuf {
        self.data_dir.join("storage")
    }

    /// The speech engine in use: the explicit choice, else Polly when a region is set.
    pub fn speech_engine_choice(&self) -> SpeechEngineChoice {
        match (self.speech_engine, &self.aws_region) {
            (Some(choice), _) => choice,
            (None, Some(_)) => SpeechEngineChoice::Polly,
            (None, None) => SpeechEngineChoice::Local,
        }
    }

    /// Where mails are written when no SMTP server is configured.
    pub fn mail_dir(&self) -> PathBuf {
        self.data_dir.join("mail")
    }
}

fn invalid(variable: &'static str, reason: &str) -> ConfigError {
    ConfigError { variable, reason: reason.to_owned() }
}

impl fmt::Display for SettingDoc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.default.is_empty() {
            return write!(f, "| `{}` | (none) | {} |", self.variable, self.description);
        }
        write!(f, "| `{}` | `{}` | {} |", self.variable, self.default, self.description)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config_with(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn the_speech_engine_defaults_to_polly_only_when_a_region_is_set() {
        let choice = |pairs: &[(&str, &str)]| config_with(pairs).unwrap().speech_engine_choice();

        assert_eq!(choice(&[]), SpeechEngineChoice::Local);
        assert_eq!(choice(&[("AWS_REGION", "eu-west-1")]), SpeechEngineChoice::Polly);
        assert_eq!(
            choice(&[("AWS_REGION", "eu-west-1"), ("ORATOR_SPEECH_ENGINE", "local")]),
            SpeechEngineChoice::Local
        );
        assert_eq!(choice(&[("ORATOR_SPEECH_ENGINE", "polly")]), SpeechEngineChoice::Polly);
        assert!(config_with(&[("ORATOR_SPEECH_ENGINE", "festival")]).is_err());
    }

    #[test]
    fn defaults_are_valid() {
        let config = config_with(&[]).unwrap();

        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert!(config.secure_cookies);
        assert!(config.smtp_url.is_none());
    }

    #[test]
    fn bad_value_names_the_variable_but_not_the_value() {
        let err = config_with(&[("ORATOR_LOGIN_MAX_FAILURES", "lots")]).unwrap_err();

        assert_eq!(err.variable, "ORATOR_LOGIN_MAX_FAILURES");
        assert!(err.to_string().contains("ORATOR_LOGIN_MAX_FAILURES"));
        assert!(!err.to_string().contains("lots"));
    }

    #[test]
    fn hard_timeout_must_exceed_soft_timeout() {
        let err = config_with(&[
            ("ORATOR_JOB_SOFT_TIMEOUT_SECS", "60"),
            ("ORATOR_JOB_HARD_TIMEOUT_SECS", "60"),
        ])
        .unwrap_err();

        assert_eq!(err.variable, "ORATOR_JOB_HARD_TIMEOUT_SECS");
    }

    #[test]
    fn secrets_never_print() {
        let config = config_with(&[("DATABASE_URL", "postgres://u:hunter2@db/orator")]).unwrap();

        let printed = format!("{config:?}");

        assert!(!printed.contains("hunter2"));
    }

    #[test]
    fn the_readme_lists_every_setting_as_declared() {
        let readme = include_str!("../../../README.md");

        for doc in Config::documentation() {
            let row = doc.to_string();
            assert!(readme.contains(&row), "README lacks or misstates: {row}");
        }
    }

    #[test]
    fn every_setting_is_documented() {
        for doc in Config::documentation() {
            assert!(!doc.description.is_empty(), "{} has no description", doc.variable);
        }
    }
}

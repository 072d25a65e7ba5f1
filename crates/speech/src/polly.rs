//! The Amazon Polly speech engine: `SynthesizeSpeech` speaks a chunk of text as MP3,
//! `DescribeVoices` lists the voices.
//!
//! Policy:
//! - the client is built explicitly from [`PollyConfig`], never from the environment; with an
//!   access key pair no credential chain runs at all (nothing probes the instance metadata
//!   address); only without keys does the default AWS chain resolve them on first use;
//! - the SDK never retries (one attempt per call): the job layer retries with jitter, using
//!   [`EngineError::is_retryable`];
//! - text longer than [`PollyLimits::max_chars`] is refused before any request is sent;
//! - every request is bounded by [`PollyLimits::attempt_timeout`], the audio transfer
//!   included;
//! - errors are classified from the SDK's error kind, the service's error code and the HTTP
//!   status, never from message strings: throttling, service failures, timeouts and
//!   connection failures are retryable; rejected requests, refused credentials and missing
//!   credentials are permanent;
//! - no error or `Debug` output ever shows the text, the secret key or the endpoint;
//! - the voice list is read once (all pages) and cached after the first success.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_polly::config::retry::RetryConfig;
use aws_sdk_polly::config::timeout::TimeoutConfig;
use aws_sdk_polly::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use aws_sdk_polly::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_polly::types::{Engine, OutputFormat, TextType, VoiceId};
use aws_smithy_http_client::tls;
use tokio::sync::OnceCell;

use crate::local::{EngineError, Voice};
use crate::mp3;

/// Longest one request may take, the audio transfer included: 30 seconds.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// Most characters spoken in one call: 3,000, Polly's limit of billed characters per request.
pub const DEFAULT_MAX_CHARS: usize = 3_000;

/// Most `DescribeVoices` pages read for one voice list: 20 (Polly answers in one or two).
pub const DEFAULT_MAX_VOICE_PAGES: usize = 20;

/// The name the static credentials are reported under in SDK logs.
const STATIC_CREDENTIALS_SOURCE: &str = "orator-polly-static";

/// The HTTP status of a throttled request.
const STATUS_TOO_MANY_REQUESTS: u16 = 429;

/// The first HTTP status of a server-side failure.
const STATUS_SERVER_ERROR: u16 = 500;

/// The HTTP status of a request without valid authentication.
const STATUS_UNAUTHORIZED: u16 = 401;

/// The HTTP status of a request the credentials may not make.
const STATUS_FORBIDDEN: u16 = 403;

/// Service error codes meaning "slow down".
const THROTTLING_CODES: &[&str] =
    &["ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"];

/// Service error codes meaning the service itself failed.
const SERVICE_FAILURE_CODES: &[&str] =
    &["ServiceFailureException", "ServiceUnavailableException", "InternalFailure"];

/// Service error codes meaning the credentials were not recognised.
const UNAUTHENTICATED_CODES: &[&str] = &[
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "InvalidClientTokenId",
    "ExpiredTokenException",
];

/// Service error codes meaning the credentials may not call Polly.
const ACCESS_DENIED_CODES: &[&str] = &["AccessDeniedException", "AccessDenied"];

/// Service error codes meaning the voice cannot speak with the configured engine.
const UNKNOWN_VOICE_CODES: &[&str] = &["EngineNotSupportedException"];

/// Service error code meaning the text is longer than Polly accepts.
const TEXT_TOO_LONG_CODE: &str = "TextLengthExceededException";

/// Which Polly voice technology speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PollyEngineKind {
    /// Concatenative voices; cheapest, offered by every voice.
    #[default]
    Standard,
    /// Neural voices; more natural, offered by fewer voices.
    Neural,
}

impl PollyEngineKind {
    /// The name Polly lists in a voice's supported engines.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Neural => "neural",
        }
    }

    /// The SDK's value for this engine.
    fn sdk(self) -> Engine {
        match self {
            Self::Standard => Engine::Standard,
            Self::Neural => Engine::Neural,
        }
    }
}

/// What the Polly engine may spend on one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollyLimits {
    /// Longest one request may take, the audio transfer included; default
    /// [`DEFAULT_ATTEMPT_TIMEOUT`] (30 s).
    pub attempt_timeout: Duration,
    /// Most characters (Unicode scalar values) in one call; default [`DEFAULT_MAX_CHARS`]
    /// (3,000).
    pub max_chars: usize,
    /// Most `DescribeVoices` pages read for one voice list; default
    /// [`DEFAULT_MAX_VOICE_PAGES`] (20).
    pub max_voice_pages: usize,
}

impl Default for PollyLimits {
    fn default() -> Self {
        Self {
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
            max_chars: DEFAULT_MAX_CHARS,
            max_voice_pages: DEFAULT_MAX_VOICE_PAGES,
        }
    }
}

/// Where Polly is and how to reach it.
#[derive(Clone, PartialEq, Eq)]
pub struct PollyConfig {
    /// The AWS region, e.g. `us-east-1`.
    pub region: String,
    /// A custom endpoint (`http://127.0.0.1:4566`); `None` for AWS.
    pub endpoint_url: Option<String>,
    /// Static access key id; with `secret_access_key`, or neither for the default chain.
    pub access_key_id: Option<String>,
    /// Static secret access key; with `access_key_id`, or neither for the default chain.
    /// `Debug` never prints it.
    pub secret_access_key: Option<String>,
    /// The voice technology every call uses.
    pub engine: PollyEngineKind,
    /// Call bounds.
    pub limits: PollyLimits,
}

impl fmt::Debug for PollyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = self.secret_access_key.as_ref().map(|_| "**redacted**");

        f.debug_struct("PollyConfig")
            .field("region", &self.region)
            .field("endpoint_url", &self.endpoint_url)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &secret)
            .field("engine", &self.engine)
            .field("limits", &self.limits)
            .finish()
    }
}

/// Speech from Amazon Polly (or a Polly-compatible server).
pub struct PollyEngine {
    client: aws_sdk_polly::Client,
    engine: PollyEngineKind,
    limits: PollyLimits,
    voices: OnceCell<Vec<Voice>>,
}

impl fmt::Debug for PollyEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PollyEngine")
            .field("engine", &self.engine)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl PollyEngine {
    /// Builds the client. With static keys nothing is contacted; without them the default
    /// credential chain is prepared (it resolves credentials on the first request).
    ///
    /// Fails with [`EngineError::Misconfigured`] for an empty region, an endpoint that is not
    /// an `http` or `https` URL, or only one of the two keys.
    pub async fn new(config: PollyConfig) -> Result<Self, EngineError> {
        validate(&config)?;

        let region = Region::new(config.region.clone());
        let credentials = match (&config.access_key_id, &config.secret_access_key) {
            (Some(id), Some(secret)) => {
                let keys = Credentials::new(id, secret, None, None, STATIC_CREDENTIALS_SOURCE);
                SharedCredentialsProvider::new(keys)
            }
            _ => {
                let provider_config = ProviderConfig::without_region()
                    .with_region(Some(region))
                    .with_http_client(http_client());
                let chain =
                    DefaultCredentialsChain::builder().configure(provider_config).build().await;
                SharedCredentialsProvider::new(chain)
            }
        };

        Ok(Self::with_credentials(config, credentials))
    }

    /// Builds the client around the given credentials, without validating the configuration.
    fn with_credentials(config: PollyConfig, credentials: SharedCredentialsProvider) -> Self {
        let limits = config.limits;
        let timeouts = TimeoutConfig::builder()
            .operation_attempt_timeout(limits.attempt_timeout)
            .operation_timeout(limits.attempt_timeout)
            .build();

        let mut builder = aws_sdk_polly::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(config.region))
            .credentials_provider(credentials)
            .http_client(http_client())
            .timeout_config(timeouts)
            .retry_config(RetryConfig::standard().with_max_attempts(1));
        if let Some(endpoint) = config.endpoint_url {
            builder = builder.endpoint_url(endpoint);
        }

        Self {
            client: aws_sdk_polly::Client::from_conf(builder.build()),
            engine: config.engine,
            limits,
            voices: OnceCell::new(),
        }
    }

    /// Most characters one call accepts.
    pub fn max_chars(&self) -> usize {
        self.limits.max_chars
    }

    /// The voice technology every call uses.
    pub fn voice_engine(&self) -> PollyEngineKind {
        self.engine
    }

    /// The voices `DescribeVoices` lists (every page), read once and cached after the first
    /// success.
    pub async fn voices(&self) -> Result<Vec<Voice>, EngineError> {
        let voices = self.voices.get_or_try_init(|| self.describe_voices()).await?;

        Ok(voices.clone())
    }

    /// Speaks `text` with `voice` and returns the MP3 bytes.
    ///
    /// Fails with [`EngineError::TextTooLong`] before sending any request, and with
    /// [`EngineError::Timeout`] once [`PollyLimits::attempt_timeout`] has passed. Audio that is
    /// not MP3 is [`EngineError::Failed`].
    pub async fn synthesize(&self, voice: &str, text: &str) -> Result<Vec<u8>, EngineError> {
        if text.chars().count() > self.limits.max_chars {
            return Err(EngineError::TextTooLong);
        }

        let request = self
            .client
            .synthesize_speech()
            .engine(self.engine.sdk())
            .output_format(OutputFormat::Mp3)
            .text_type(TextType::Text)
            .voice_id(VoiceId::from(voice))
            .text(text);
        let speak = async {
            let output = request.send().await.map_err(|error| classify(&error))?;
            let audio = output.audio_stream.collect().await.map_err(|_| EngineError::Failed)?;
            Ok::<_, EngineError>(audio.into_bytes().to_vec())
        };
        let audio = tokio::time::timeout(self.limits.attempt_timeout, speak)
            .await
            .map_err(|_| EngineError::Timeout)??;

        mp3::probe(&audio).map_err(|_| EngineError::Failed)?;
        Ok(audio)
    }

    /// Reads every page of `DescribeVoices`, each bounded by the attempt timeout.
    async fn describe_voices(&self) -> Result<Vec<Voice>, EngineError> {
        let mut voices = Vec::new();
        let mut next_token = None;

        for _ in 0..self.limits.max_voice_pages {
            let request = self.client.describe_voices().set_next_token(next_token.take());
            let page = tokio::time::timeout(self.limits.attempt_timeout, request.send())
                .await
                .map_err(|_| EngineError::Timeout)?
                .map_err(|error| classify(&error))?;

            voices.extend(page.voices().iter().filter_map(voice_of));
            match page.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => return Ok(voices),
            }
        }

        Err(EngineError::Failed)
    }
}

/// Checks what the SDK would otherwise accept and fail on later.
fn validate(config: &PollyConfig) -> Result<(), EngineError> {
    if config.region.trim().is_empty() {
        return Err(EngineError::Misconfigured);
    }

    let endpoint_ok = config.endpoint_url.as_deref().is_none_or(|endpoint| {
        let rest = endpoint.strip_prefix("https://").or_else(|| endpoint.strip_prefix("http://"));
        rest.is_some_and(|host| !host.is_empty())
    });
    if !endpoint_ok {
        return Err(EngineError::Misconfigured);
    }

    match (&config.access_key_id, &config.secret_access_key) {
        (Some(_), None) | (None, Some(_)) => Err(EngineError::Misconfigured),
        _ => Ok(()),
    }
}

/// The HTTPS client on rustls with the ring provider, the project's only TLS stack.
fn http_client() -> aws_sdk_polly::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring))
        .build_https()
}

/// The crate's voice for a Polly voice; `None` for a voice without an id.
fn voice_of(voice: &aws_sdk_polly::types::Voice) -> Option<Voice> {
    let id = voice.id()?.as_str().to_owned();

    Some(Voice {
        name: voice.name().map_or_else(|| id.clone(), str::to_owned),
        language: voice.language_code().map(|code| code.as_str().to_owned()).unwrap_or_default(),
        gender: voice.gender().map(|gender| gender.as_str().to_lowercase()),
        engines: voice.supported_engines().iter().map(|e| e.as_str().to_lowercase()).collect(),
        id,
    })
}

/// Classifies an SDK error by its kind, the service's error code and the HTTP status.
fn classify<E>(error: &SdkError<E>) -> EngineError
where
    E: ProvideErrorMetadata + StdError + 'static,
{
    if credentials_missing(error) {
        return EngineError::Unauthenticated;
    }

    match error {
        SdkError::TimeoutError(_) => EngineError::Timeout,
        SdkError::DispatchFailure(failure) if failure.is_timeout() => EngineError::Timeout,
        SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => EngineError::Failed,
        SdkError::ServiceError(_) => {
            let status = error.raw_response().map(|response| response.status().as_u16());
            service_error(error.code(), status)
        }
        _ => EngineError::Failed,
    }
}

/// Classifies a service error: its code first, its HTTP status when the code is unknown.
fn service_error(code: Option<&str>, status: Option<u16>) -> EngineError {
    let code = code.unwrap_or_default();
    let status = status.unwrap_or_default();

    if THROTTLING_CODES.contains(&code) || status == STATUS_TOO_MANY_REQUESTS {
        EngineError::Throttled
    } else if SERVICE_FAILURE_CODES.contains(&code) || status >= STATUS_SERVER_ERROR {
        EngineError::Failed
    } else if code == TEXT_TOO_LONG_CODE {
        EngineError::TextTooLong
    } else if UNKNOWN_VOICE_CODES.contains(&code) {
        EngineError::UnknownVoice
    } else if UNAUTHENTICATED_CODES.contains(&code) || status == STATUS_UNAUTHORIZED {
        EngineError::Unauthenticated
    } else if ACCESS_DENIED_CODES.contains(&code) || status == STATUS_FORBIDDEN {
        EngineError::AccessDenied
    } else {
        EngineError::Rejected
    }
}

/// Whether the credential provider found no credentials (anywhere in the source chain).
fn credentials_missing(error: &(dyn StdError + 'static)) -> bool {
    let mut current = Some(error);

    while let Some(error) = current {
        if let Some(CredentialsError::CredentialsNotLoaded(_)) = error.downcast_ref() {
            return true;
        }
        current = error.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use aws_credential_types::provider::{ProvideCredentials, future};

    use super::*;
    use crate::testing::{Answer, PollyServer as Server, mp3_frames};

    const ACCESS_KEY_ID: &str = "AKIDORATORTEST";
    const SECRET: &str = "orator-test-secret-key";
    const TEXT: &str = "Hello from the first page.";

    fn config(endpoint: &str) -> PollyConfig {
        PollyConfig {
            region: "us-east-1".to_owned(),
            endpoint_url: Some(endpoint.to_owned()),
            access_key_id: Some(ACCESS_KEY_ID.to_owned()),
            secret_access_key: Some(SECRET.to_owned()),
            engine: PollyEngineKind::Neural,
            limits: PollyLimits {
                attempt_timeout: Duration::from_secs(5),
                ..PollyLimits::default()
            },
        }
    }

    async fn engine_for(server: &Server) -> PollyEngine {
        PollyEngine::new(config(&server.endpoint)).await.unwrap()
    }

    async fn synthesis_error(answer: Answer) -> (EngineError, usize) {
        let server = Server::start(answer).await;
        let engine = engine_for(&server).await;

        let error = engine.synthesize("Joanna", TEXT).await.unwrap_err();

        (error, server.seen().len())
    }

    #[tokio::test]
    async fn synthesize_returns_audio_the_mp3_probe_accepts() {
        let server = Server::start(Answer::Succeed).await;
        let engine = engine_for(&server).await;

        let audio = engine.synthesize("Joanna", TEXT).await.unwrap();

        let probed = mp3::probe(&audio).unwrap();
        assert_eq!(audio, mp3_frames(5));
        assert_eq!((probed.frames, probed.sample_rate, probed.channels), (5, 22_050, 1));
    }

    #[tokio::test]
    async fn synthesis_requests_carry_voice_engine_text_and_mp3_format() {
        let server = Server::start(Answer::Succeed).await;
        let engine = engine_for(&server).await;

        engine.synthesize("Joanna", TEXT).await.unwrap();

        let seen = server.seen();
        assert_eq!(seen.len(), 1);
        assert_eq!((seen[0].method.as_str(), seen[0].target.as_str()), ("POST", "/v1/speech"));
        let body: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
        assert_eq!(body["VoiceId"], "Joanna");
        assert_eq!(body["Engine"], "neural");
        assert_eq!(body["OutputFormat"], "mp3");
        assert_eq!(body["TextType"], "text");
        assert_eq!(body["Text"], TEXT);
    }

    #[tokio::test]
    async fn the_standard_engine_is_sent_when_configured() {
        let server = Server::start(Answer::Succeed).await;
        let config = PollyConfig { engine: PollyEngineKind::Standard, ..config(&server.endpoint) };
        let engine = PollyEngine::new(config).await.unwrap();

        engine.synthesize("Joanna", TEXT).await.unwrap();

        let body: serde_json::Value = serde_json::from_slice(&server.seen()[0].body).unwrap();
        assert_eq!(body["Engine"], "standard");
    }

    #[tokio::test]
    async fn text_over_max_chars_is_refused_before_any_request() {
        let server = Server::start(Answer::Succeed).await;
        let limits = PollyLimits { max_chars: 10, ..PollyLimits::default() };
        let engine =
            PollyEngine::new(PollyConfig { limits, ..config(&server.endpoint) }).await.unwrap();

        let refused = engine.synthesize("Joanna", "ééééééééééé").await;
        let accepted = engine.synthesize("Joanna", "éééééééééé").await;

        assert_eq!(refused, Err(EngineError::TextTooLong));
        assert!(accepted.is_ok());
        assert_eq!(server.seen().len(), 1, "only the text within the limit was sent");
    }

    #[tokio::test]
    async fn throttling_is_retryable_whatever_its_status() {
        for status in [400, 429] {
            let (error, requests) =
                synthesis_error(Answer::Error("ThrottlingException", status)).await;

            assert_eq!(error, EngineError::Throttled, "status {status}");
            assert_eq!(error.code(), "speech_throttled");
            assert!(error.is_retryable());
            assert_eq!(requests, 1, "the SDK itself does not retry");
        }
    }

    #[tokio::test]
    async fn service_failures_are_retryable() {
        for answer in
            [Answer::Error("ServiceFailureException", 500), Answer::Error("SomethingNew", 503)]
        {
            let (error, requests) = synthesis_error(answer).await;

            assert_eq!(error, EngineError::Failed, "{answer:?}");
            assert!(error.is_retryable());
            assert_eq!(requests, 1, "the SDK itself does not retry");
        }
    }

    #[tokio::test]
    async fn a_hung_server_times_out_retryably() {
        let server = Server::start(Answer::Hang).await;
        let limits =
            PollyLimits { attempt_timeout: Duration::from_millis(300), ..PollyLimits::default() };
        let engine =
            PollyEngine::new(PollyConfig { limits, ..config(&server.endpoint) }).await.unwrap();

        let error = engine.synthesize("Joanna", TEXT).await.unwrap_err();

        assert_eq!(error, EngineError::Timeout);
        assert!(error.is_retryable());
        assert_eq!(server.seen().len(), 1);
    }

    #[tokio::test]
    async fn a_refused_connection_is_retryable() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let engine = PollyEngine::new(config(&endpoint)).await.unwrap();

        let error = engine.synthesize("Joanna", TEXT).await.unwrap_err();

        assert_eq!(error, EngineError::Failed);
        assert!(error.is_retryable());
    }

    #[tokio::test]
    async fn unrecognized_credentials_are_permanent() {
        for answer in [
            Answer::Error("UnrecognizedClientException", 403),
            Answer::Error("InvalidSignatureException", 403),
        ] {
            let (error, _) = synthesis_error(answer).await;

            assert_eq!(error, EngineError::Unauthenticated, "{answer:?}");
            assert!(!error.is_retryable());
        }
    }

    #[tokio::test]
    async fn access_denied_is_permanent() {
        let (error, _) = synthesis_error(Answer::Error("AccessDeniedException", 403)).await;

        assert_eq!(error, EngineError::AccessDenied);
        assert_eq!(error.code(), "speech_access_denied");
        assert!(!error.is_retryable());
    }

    /// A credential provider that never finds credentials.
    #[derive(Debug)]
    struct NoCredentials;

    impl ProvideCredentials for NoCredentials {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            future::ProvideCredentials::ready(Err(CredentialsError::not_loaded("none in test")))
        }
    }

    #[tokio::test]
    async fn missing_credentials_are_permanent_and_nothing_is_sent() {
        let server = Server::start(Answer::Succeed).await;
        let engine = PollyEngine::with_credentials(
            config(&server.endpoint),
            SharedCredentialsProvider::new(NoCredentials),
        );

        let error = engine.synthesize("Joanna", TEXT).await.unwrap_err();

        assert_eq!(error, EngineError::Unauthenticated);
        assert!(!error.is_retryable());
        assert!(server.seen().is_empty());
    }

    #[tokio::test]
    async fn text_length_exceeded_is_text_too_long() {
        let (error, _) = synthesis_error(Answer::Error("TextLengthExceededException", 400)).await;

        assert_eq!(error, EngineError::TextTooLong);
        assert!(!error.is_retryable());
    }

    #[tokio::test]
    async fn invalid_requests_are_permanent() {
        for code in [
            "InvalidSampleRateException",
            "InvalidSsmlException",
            "LexiconNotFoundException",
            "ValidationException",
        ] {
            let (error, _) = synthesis_error(Answer::Error(code, 400)).await;

            assert_eq!(error, EngineError::Rejected, "{code}");
            assert!(!error.is_retryable());
        }
    }

    #[tokio::test]
    async fn a_voice_without_the_engine_is_an_unknown_voice() {
        let (error, _) = synthesis_error(Answer::Error("EngineNotSupportedException", 400)).await;

        assert_eq!(error, EngineError::UnknownVoice);
        assert!(!error.is_retryable());
    }

    #[tokio::test]
    async fn audio_that_is_not_mp3_is_a_retryable_failure() {
        let (error, _) = synthesis_error(Answer::NotAudio).await;

        assert_eq!(error, EngineError::Failed);
    }

    #[tokio::test]
    async fn voices_follow_next_token_across_pages() {
        let server = Server::start(Answer::Succeed).await;
        let engine = engine_for(&server).await;

        let voices = engine.voices().await.unwrap();

        let seen = server.seen();
        assert_eq!(seen.len(), 2);
        assert!(seen.iter().all(|request| request.method == "GET"));
        assert_eq!(seen[0].target, "/v1/voices");
        assert_eq!(seen[1].target, "/v1/voices?NextToken=page-2");
        let joanna = Voice {
            id: "Joanna".to_owned(),
            name: "Joanna".to_owned(),
            language: "en-US".to_owned(),
            gender: Some("female".to_owned()),
            engines: vec!["standard".to_owned()],
        };
        let matthew = Voice {
            id: "Matthew".to_owned(),
            name: "Matthew".to_owned(),
            language: "en-US".to_owned(),
            gender: Some("male".to_owned()),
            engines: vec!["neural".to_owned(), "standard".to_owned()],
        };
        assert_eq!(voices, [joanna, matthew]);
    }

    #[tokio::test]
    async fn voices_are_cached_after_the_first_success() {
        let server = Server::start(Answer::Succeed).await;
        let engine = engine_for(&server).await;

        let first = engine.voices().await.unwrap();
        let second = engine.voices().await.unwrap();

        assert_eq!(first, second);
        assert_eq!(server.seen().len(), 2, "two pages, read once");
    }

    #[tokio::test]
    async fn a_failed_voice_listing_is_not_cached() {
        let server = Server::start(Answer::Error("ServiceFailureException", 500)).await;
        let engine = engine_for(&server).await;

        let first = engine.voices().await;
        let second = engine.voices().await;

        assert_eq!((first, second), (Err(EngineError::Failed), Err(EngineError::Failed)));
        assert_eq!(server.seen().len(), 2, "the second call asked again");
    }

    #[tokio::test]
    async fn broken_configurations_are_refused() {
        let good = config("http://127.0.0.1:9");
        let broken = [
            PollyConfig { region: " ".to_owned(), ..good.clone() },
            PollyConfig { endpoint_url: Some("ftp://127.0.0.1:9".to_owned()), ..good.clone() },
            PollyConfig { endpoint_url: Some("http://".to_owned()), ..good.clone() },
            PollyConfig { secret_access_key: None, ..good.clone() },
            PollyConfig { access_key_id: None, ..good.clone() },
        ];

        for config in broken {
            let error = PollyEngine::new(config).await.unwrap_err();
            assert_eq!(error, EngineError::Misconfigured);
            assert_eq!(error.code(), "speech_engine_misconfigured");
        }
    }

    #[tokio::test]
    async fn errors_never_show_the_text_the_keys_or_the_endpoint() {
        let server = Server::start(Answer::Error("ValidationException", 400)).await;
        let engine = engine_for(&server).await;

        let error = engine.synthesize("Joanna", TEXT).await.unwrap_err();

        for shown in [error.to_string(), format!("{error:?}")] {
            assert!(!shown.contains(TEXT));
            assert!(!shown.contains(SECRET));
            assert!(!shown.contains(ACCESS_KEY_ID));
            assert!(!shown.contains(&server.endpoint));
        }
    }

    #[test]
    fn config_debug_redacts_the_secret_key() {
        let shown = format!("{:?}", config("http://127.0.0.1:9"));

        assert!(!shown.contains(SECRET));
        assert!(shown.contains("**redacted**"));
        assert!(shown.contains(ACCESS_KEY_ID));
    }

    #[test]
    fn unknown_codes_fall_back_to_the_status() {
        assert_eq!(service_error(None, Some(429)), EngineError::Throttled);
        assert_eq!(service_error(None, Some(502)), EngineError::Failed);
        assert_eq!(service_error(None, Some(401)), EngineError::Unauthenticated);
        assert_eq!(service_error(None, Some(403)), EngineError::AccessDenied);
        assert_eq!(service_error(None, Some(404)), EngineError::Rejected);
    }

    #[test]
    fn default_limits_are_documented() {
        let limits = PollyLimits::default();

        assert_eq!(limits.attempt_timeout, Duration::from_secs(30));
        assert_eq!(limits.max_chars, 3_000);
        assert_eq!(limits.max_voice_pages, 20);
    }
}

//! Objects in an S3 bucket (AWS or any S3-compatible server).
//!
//! Policy: the client is built explicitly from [`S3Config`], never from the environment. With
//! an access key pair it uses those static credentials and no credential chain runs at all,
//! so nothing ever probes the instance metadata address; only without keys does it fall back
//! to the default AWS credential chain (environment, profile, web identity, ECS, instance
//! metadata), which is what a deployment on AWS with an instance role wants. Every request is
//! bounded by [`S3Limits`]. Errors keep the SDK error as their source for logs, but their
//! `Display` never names the bucket, the key or the endpoint.

use std::time::SystemTime;

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::provider_config::ProviderConfig;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_http_client::tls;

use crate::{SignedGet, SignedUrl, Storage, StorageError, key_to_relative_path, validate_prefix};

/// The name the static credentials are reported under in SDK logs.
const STATIC_CREDENTIALS_SOURCE: &str = "orator-static";

/// A secret string (such as a secret access key) that `Debug` never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// Gives the secret to the code that has to use it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretString(**redacted**)")
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

/// Time and size bounds for S3 requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct S3Limits {
    /// Longest wait for a TCP and TLS connection. Default: 5 s.
    pub connect_timeout: std::time::Duration,
    /// Longest single attempt of a request, transfer included. Default: 60 s.
    pub attempt_timeout: std::time::Duration,
    /// Longest request including all retries. Default: 180 s.
    pub operation_timeout: std::time::Duration,
    /// Attempts per request, the first included (retries use the SDK's standard backoff).
    /// Default: 3.
    pub max_attempts: u32,
    /// Keys asked for per listing page (S3 returns at most 1,000). Default: 1,000.
    pub list_page_size: i32,
}

impl Default for S3Limits {
    fn default() -> Self {
        Self {
            connect_timeout: std::time::Duration::from_secs(5),
            attempt_timeout: std::time::Duration::from_secs(60),
            operation_timeout: std::time::Duration::from_secs(180),
            max_attempts: 3,
            list_page_size: 1_000,
        }
    }
}

/// Where the bucket is and how to reach it.
#[derive(Debug, Clone)]
pub struct S3Config {
    /// The bucket holding every object.
    pub bucket: String,
    /// The bucket's region (any value an S3-compatible server accepts, e.g. `us-east-1`).
    pub region: String,
    /// A custom endpoint (`http://127.0.0.1:9000`, a MinIO or R2 URL); `None` for AWS.
    pub endpoint_url: Option<String>,
    /// Address buckets in the path (`host/bucket/key`) instead of the host name; most
    /// S3-compatible servers need it.
    pub force_path_style: bool,
    /// Static access key id; with `secret_access_key`, or neither for the default chain.
    pub access_key_id: Option<String>,
    /// Static secret access key; with `access_key_id`, or neither for the default chain.
    pub secret_access_key: Option<SecretString>,
    /// Request bounds.
    pub limits: S3Limits,
}

/// An S3 configuration that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum S3ConfigError {
    /// The bucket name is empty.
    #[error("S3 bucket not set")]
    MissingBucket,
    /// The region is empty.
    #[error("S3 region not set")]
    MissingRegion,
    /// Only one of the access key id and the secret access key is set.
    #[error("S3 access key id and secret access key must be set together")]
    PartialCredentials,
    /// The endpoint is not an `http` or `https` URL.
    #[error("S3 endpoint is not an http or https URL")]
    InvalidEndpoint,
}

impl S3ConfigError {
    /// A stable identifier for start-up failures.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingBucket => "s3_bucket_missing",
            Self::MissingRegion => "s3_region_missing",
            Self::PartialCredentials => "s3_credentials_partial",
            Self::InvalidEndpoint => "s3_endpoint_invalid",
        }
    }
}

/// Storage in one S3 bucket.
#[derive(Clone)]
pub struct S3Storage {
    client: aws_sdk_s3::Client,
    bucket: String,
    list_page_size: i32,
}

impl std::fmt::Debug for S3Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Storage").finish_non_exhaustive()
    }
}

impl S3Storage {
    /// Builds the client. With static keys nothing is contacted; without them the default
    /// credential chain is prepared (it resolves credentials on the first request).
    pub async fn new(config: S3Config) -> Result<Self, S3ConfigError> {
        if config.bucket.is_empty() {
            return Err(S3ConfigError::MissingBucket);
        }
        if config.region.is_empty() {
            return Err(S3ConfigError::MissingRegion);
        }
        if let Some(endpoint) = &config.endpoint_url {
            let parsed = url::Url::parse(endpoint).map_err(|_| S3ConfigError::InvalidEndpoint)?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(S3ConfigError::InvalidEndpoint);
            }
        }

        let http_client = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring))
            .build_https();
        let region = Region::new(config.region.clone());
        let credentials = match (&config.access_key_id, &config.secret_access_key) {
            (Some(id), Some(secret)) => {
                let static_keys =
                    Credentials::new(id, secret.expose(), None, None, STATIC_CREDENTIALS_SOURCE);
                SharedCredentialsProvider::new(static_keys)
            }
            (None, None) => {
                let provider_config = ProviderConfig::without_region()
                    .with_region(Some(region.clone()))
                    .with_http_client(http_client.clone());
                let chain =
                    DefaultCredentialsChain::builder().configure(provider_config).build().await;
                SharedCredentialsProvider::new(chain)
            }
            _ => return Err(S3ConfigError::PartialCredentials),
        };

        let limits = config.limits;
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(limits.connect_timeout)
            .operation_attempt_timeout(limits.attempt_timeout)
            .operation_timeout(limits.operation_timeout)
            .build();
        let mut builder = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(region)
            .credentials_provider(credentials)
            .http_client(http_client)
            .force_path_style(config.force_path_style)
            .timeout_config(timeouts)
            .retry_config(RetryConfig::standard().with_max_attempts(limits.max_attempts));
        if let Some(endpoint) = &config.endpoint_url {
            builder = builder.endpoint_url(endpoint);
        }

        let client = aws_sdk_s3::Client::from_conf(builder.build());
        Ok(Self { client, bucket: config.bucket, list_page_size: limits.list_page_size })
    }

    /// Like [`Storage::signed_get`], with the signing time given by the caller.
    pub async fn signed_get_at(
        &self,
        key: &str,
        options: &SignedGet,
        now: SystemTime,
    ) -> Result<SignedUrl, StorageError> {
        key_to_relative_path(key)?;
        options.validate()?;

        let presigning = PresigningConfig::builder()
            .start_time(now)
            .expires_in(options.expires_in)
            .build()
            .map_err(|_| StorageError::InvalidSignedGet)?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_type(&options.content_type)
            .set_response_content_disposition(options.disposition())
            .presigned(presigning)
            .await
            .map_err(object_error)?;

        Ok(SignedUrl { url: request.uri().to_owned(), expires_at: now + options.expires_in })
    }
}

/// Maps an SDK error about one object: a missing object is [`StorageError::NotFound`] (a
/// missing bucket is not: that is a broken deployment), everything else is unavailable.
fn object_error<E>(err: SdkError<E>) -> StorageError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let missing_object = err.as_service_error().is_some_and(|service| {
        let status = err.raw_response().map(|response| response.status().as_u16());
        let code = service.code();
        code == Some("NoSuchKey") || (status == Some(404) && code != Some("NoSuchBucket"))
    });
    if missing_object {
        return StorageError::NotFound;
    }

    unavailable(err)
}

fn unavailable<E>(err: SdkError<E>) -> StorageError
where
    E: std::error::Error + Send + Sync + 'static,
{
    StorageError::Unavailable(Box::new(err))
}

#[async_trait::async_trait]
impl Storage for S3Storage {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), StorageError> {
        key_to_relative_path(key)?;

        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(unavailable)?;

        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, StorageError> {
        key_to_relative_path(key)?;

        let output = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(object_error)?;
        let body =
            output.body.collect().await.map_err(|err| StorageError::Unavailable(Box::new(err)))?;

        Ok(body.to_vec())
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        key_to_relative_path(key)?;

        let result = self.client.delete_object().bucket(&self.bucket).key(key).send().await;

        match result.map_err(object_error) {
            Ok(_) | Err(StorageError::NotFound) => Ok(()),
            Err(err) => Err(err),
        }
    }

    async fn check(&self) -> Result<(), StorageError> {
        self.client.head_bucket().bucket(&self.bucket).send().await.map_err(unavailable)?;

        Ok(())
    }

    async fn list_older_than(
        &self,
        prefix: &str,
        before: SystemTime,
        limit: usize,
    ) -> Result<Vec<String>, StorageError> {
        validate_prefix(prefix)?;
        let mut found = Vec::new();
        let mut continuation: Option<String> = None;

        while found.len() < limit {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .max_keys(self.list_page_size)
                .set_continuation_token(continuation.take())
                .send()
                .await
                .map_err(unavailable)?;

            for object in page.contents() {
                let modified = object.last_modified().and_then(|t| SystemTime::try_from(*t).ok());
                // An object without a readable date cannot be shown to be old: keep it.
                let is_old = modified.is_some_and(|modified| modified < before);
                if let (true, Some(key)) = (is_old, object.key()) {
                    found.push(key.to_owned());
                    if found.len() == limit {
                        break;
                    }
                }
            }

            match page.next_continuation_token() {
                Some(token) if page.is_truncated() == Some(true) => {
                    continuation = Some(token.to_owned());
                }
                _ => break,
            }
        }

        Ok(found)
    }

    async fn signed_get(&self, key: &str, options: &SignedGet) -> Result<SignedUrl, StorageError> {
        self.signed_get_at(key, options, SystemTime::now()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> S3Config {
        S3Config {
            bucket: "orator-test".to_owned(),
            region: "us-east-1".to_owned(),
            endpoint_url: Some("http://127.0.0.1:9".to_owned()),
            force_path_style: true,
            access_key_id: Some("AKIDTEST".to_owned()),
            secret_access_key: Some(SecretString::new("topsecretvalue".to_owned())),
            limits: S3Limits::default(),
        }
    }

    #[tokio::test]
    async fn one_half_of_a_key_pair_is_refused() {
        let only_id = S3Config { secret_access_key: None, ..config() };
        let only_secret = S3Config { access_key_id: None, ..config() };

        assert!(matches!(S3Storage::new(only_id).await, Err(S3ConfigError::PartialCredentials)));
        assert!(matches!(
            S3Storage::new(only_secret).await,
            Err(S3ConfigError::PartialCredentials)
        ));
    }

    #[tokio::test]
    async fn empty_names_and_odd_endpoints_are_refused() {
        let no_bucket = S3Config { bucket: String::new(), ..config() };
        let no_region = S3Config { region: String::new(), ..config() };
        let ftp = S3Config { endpoint_url: Some("ftp://127.0.0.1/".to_owned()), ..config() };
        let junk = S3Config { endpoint_url: Some("not a url".to_owned()), ..config() };

        assert!(matches!(S3Storage::new(no_bucket).await, Err(S3ConfigError::MissingBucket)));
        assert!(matches!(S3Storage::new(no_region).await, Err(S3ConfigError::MissingRegion)));
        assert!(matches!(S3Storage::new(ftp).await, Err(S3ConfigError::InvalidEndpoint)));
        assert!(matches!(S3Storage::new(junk).await, Err(S3ConfigError::InvalidEndpoint)));
    }

    #[tokio::test]
    async fn debug_output_shows_neither_secrets_nor_the_bucket() {
        let config = config();
        let storage = S3Storage::new(config.clone()).await.unwrap();

        assert!(!format!("{config:?}").contains("topsecretvalue"));
        assert!(!format!("{storage:?}").contains("orator-test"));
    }

    #[tokio::test]
    async fn presigning_with_static_keys_needs_no_server() {
        let storage = S3Storage::new(config()).await.unwrap();
        let options = SignedGet {
            expires_in: std::time::Duration::from_secs(60),
            content_type: "audio/mpeg".to_owned(),
            download_name: Some("a.mp3".to_owned()),
        };

        let signed = storage.signed_get("audio/a.mp3", &options).await.unwrap();

        assert!(signed.url.starts_with("http://127.0.0.1:9/orator-test/audio/a.mp3?"));
        assert!(signed.url.contains("X-Amz-Signature="));
        assert!(signed.url.contains("response-content-type=audio%2Fmpeg"));
    }
}

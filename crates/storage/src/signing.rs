//! Signed download URLs for objects kept on local disk.
//!
//! Policy: a URL is `{base_url}/{key}?expires=<unix seconds>&ct=<content type>[&dn=<download
//! name>]&sig=<hex HMAC-SHA256>`. The MAC covers the key, the expiry, the content type and the
//! download name (and whether there is one), each length-prefixed after a version tag, so no
//! two different requests share a signature. Verification checks the signature first, in
//! constant time, and only then the expiry, so an attacker learns nothing from a forged URL.
//! Parameters that appear twice make the URL malformed; parameters this module does not know
//! are ignored (they are not signed and change nothing).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use url::Url;

use crate::{SignedGet, SignedUrl, StorageError, content_disposition_attachment};

type HmacSha256 = Hmac<Sha256>;

/// The shortest signing key accepted, in bytes.
pub const MIN_SIGNING_KEY_BYTES: usize = 32;

/// Tags the MAC input, so a signature made for another purpose with the same key never
/// validates here.
const MAC_CONTEXT: &[u8] = b"orator-storage/local-get/v1";

const EXPIRES_PARAM: &str = "expires";
const CONTENT_TYPE_PARAM: &str = "ct";
const DOWNLOAD_NAME_PARAM: &str = "dn";
const SIGNATURE_PARAM: &str = "sig";

/// A failure to build a [`UrlSigner`].
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    /// The key is shorter than [`MIN_SIGNING_KEY_BYTES`].
    #[error("signing key too short")]
    KeyTooShort,
    /// The base URL is not an `http` or `https` URL without query and fragment.
    #[error("unsupported base URL for signed downloads")]
    UnsupportedBaseUrl,
}

impl SignerError {
    /// A stable identifier for logs and start-up failures.
    pub fn code(&self) -> &'static str {
        match self {
            Self::KeyTooShort => "signing_key_too_short",
            Self::UnsupportedBaseUrl => "signing_base_url_unsupported",
        }
    }
}

/// Why a signed URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A parameter is missing, repeated or unreadable, or the key is not a server key.
    #[error("malformed signed URL")]
    Malformed,
    /// The signature does not match: the URL was altered or not made by this server.
    #[error("invalid signature")]
    Invalid,
    /// The URL was genuine but its time is up.
    #[error("signed URL expired")]
    Expired,
}

impl SignatureError {
    /// A stable identifier for problem responses.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed => "signed_url_malformed",
            Self::Invalid => "signed_url_invalid",
            Self::Expired => "signed_url_expired",
        }
    }
}

/// What a verified URL says about how to serve the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedGet {
    /// The `Content-Type` to send.
    pub content_type: String,
    /// The `Content-Disposition` to send, when the URL asked for a download.
    pub disposition: Option<String>,
}

/// Makes and checks signed download URLs with an HMAC-SHA256 key.
#[derive(Clone)]
pub struct UrlSigner {
    mac: HmacSha256,
    base_url: Url,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UrlSigner")
            .field("base_url", &self.base_url.as_str())
            .finish_non_exhaustive()
    }
}

impl UrlSigner {
    /// Builds a signer from a secret `key` (at least [`MIN_SIGNING_KEY_BYTES`]) and the URL
    /// the API serves files under (for example `https://host/files`).
    pub fn new(key: Vec<u8>, base_url: Url) -> Result<Self, SignerError> {
        if key.len() < MIN_SIGNING_KEY_BYTES {
            return Err(SignerError::KeyTooShort);
        }

        let web_scheme = matches!(base_url.scheme(), "http" | "https");
        let plain = base_url.query().is_none() && base_url.fragment().is_none();
        if !web_scheme || !plain || base_url.cannot_be_a_base() {
            return Err(SignerError::UnsupportedBaseUrl);
        }

        let mac = HmacSha256::new_from_slice(&key).map_err(|_| SignerError::KeyTooShort)?;
        Ok(Self { mac, base_url })
    }

    /// Signs a download of `key` valid from `now` for `options.expires_in`.
    pub fn sign(
        &self,
        key: &str,
        options: &SignedGet,
        now: SystemTime,
    ) -> Result<SignedUrl, StorageError> {
        crate::key_to_relative_path(key)?;
        options.validate()?;

        let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
        let expires = (since_epoch + options.expires_in).as_secs();
        let download_name = options.download_name.as_deref();
        let signature = hex::encode(self.tag(key, expires, &options.content_type, download_name));

        let mut url = self.base_url.clone();
        url.path_segments_mut()
            .map_err(|()| StorageError::InvalidKey)?
            .pop_if_empty()
            .extend(key.split('/'));
        {
            let mut query = url.query_pairs_mut();
            query.append_pair(EXPIRES_PARAM, &expires.to_string());
            query.append_pair(CONTENT_TYPE_PARAM, &options.content_type);
            if let Some(name) = download_name {
                query.append_pair(DOWNLOAD_NAME_PARAM, name);
            }
            query.append_pair(SIGNATURE_PARAM, &signature);
        }

        let expires_at = UNIX_EPOCH + Duration::from_secs(expires);
        Ok(SignedUrl { url: url.into(), expires_at })
    }

    /// Checks a request for `key` with the URL's raw query string at time `now`.
    pub fn verify(
        &self,
        key: &str,
        query: &str,
        now: SystemTime,
    ) -> Result<VerifiedGet, SignatureError> {
        crate::key_to_relative_path(key).map_err(|_| SignatureError::Malformed)?;
        let params = SignedParams::parse(query)?;

        let tag = hex::decode(params.signature).map_err(|_| SignatureError::Malformed)?;
        let mut mac = self.mac.clone();
        feed(&mut mac, key, params.expires, &params.content_type, params.download_name.as_deref());
        mac.verify_slice(&tag).map_err(|_| SignatureError::Invalid)?;

        let now_secs = now.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs();
        if now_secs > params.expires {
            return Err(SignatureError::Expired);
        }

        let disposition = params.download_name.as_deref().map(content_disposition_attachment);
        Ok(VerifiedGet { content_type: params.content_type, disposition })
    }

    fn tag(&self, key: &str, expires: u64, content_type: &str, name: Option<&str>) -> Vec<u8> {
        let mut mac = self.mac.clone();

        feed(&mut mac, key, expires, content_type, name);
        mac.finalize().into_bytes().to_vec()
    }
}

/// Feeds the signed fields into `mac`, each with its length so field boundaries are fixed.
fn feed(mac: &mut HmacSha256, key: &str, expires: u64, content_type: &str, name: Option<&str>) {
    let expires = expires.to_string();

    mac.update(MAC_CONTEXT);
    for field in [key, expires.as_str(), content_type] {
        feed_field(mac, field.as_bytes());
    }
    match name {
        None => mac.update(&[0]),
        Some(name) => {
            mac.update(&[1]);
            feed_field(mac, name.as_bytes());
        }
    }
}

fn feed_field(mac: &mut HmacSha256, field: &[u8]) {
    mac.update(&(field.len() as u64).to_be_bytes());
    mac.update(field);
}

/// The parameters of a signed URL, each present at most once.
struct SignedParams {
    expires: u64,
    content_type: String,
    download_name: Option<String>,
    signature: String,
}

impl SignedParams {
    fn parse(query: &str) -> Result<Self, SignatureError> {
        let mut expires = None;
        let mut content_type = None;
        let mut download_name = None;
        let mut signature = None;

        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match name.as_ref() {
                EXPIRES_PARAM => &mut expires,
                CONTENT_TYPE_PARAM => &mut content_type,
                DOWNLOAD_NAME_PARAM => &mut download_name,
                SIGNATURE_PARAM => &mut signature,
                _ => continue,
            };
            if slot.replace(value.into_owned()).is_some() {
                return Err(SignatureError::Malformed);
            }
        }

        let expires = expires.ok_or(SignatureError::Malformed)?;
        if expires.is_empty() || !expires.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SignatureError::Malformed);
        }
        let expires = expires.parse().map_err(|_| SignatureError::Malformed)?;
        let content_type = content_type.ok_or(SignatureError::Malformed)?;
        let signature = signature.ok_or(SignatureError::Malformed)?;

        Ok(Self { expires, content_type, download_name, signature })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "uploads/0192/audio-1.mp3";

    fn signer() -> UrlSigner {
        let base = Url::parse("https://orator.example/files").unwrap();

        UrlSigner::new(vec![7; MIN_SIGNING_KEY_BYTES], base).unwrap()
    }

    fn options(download_name: Option<&str>) -> SignedGet {
        SignedGet {
            expires_in: Duration::from_secs(600),
            content_type: "audio/mpeg".to_owned(),
            download_name: download_name.map(str::to_owned),
        }
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    /// Splits a signed URL into the key (path below the base) and the query.
    fn split(url: &str) -> (String, String) {
        let parsed = Url::parse(url).unwrap();
        let key = parsed.path().strip_prefix("/files/").unwrap().to_owned();

        (key, parsed.query().unwrap().to_owned())
    }

    /// Replaces one parameter of a query string, keeping the others as they are.
    fn with_param(query: &str, name: &str, value: &str) -> String {
        let pairs = url::form_urlencoded::parse(query.as_bytes()).map(|(k, v)| {
            if k == name {
                (k.into_owned(), value.to_owned())
            } else {
                (k.into_owned(), v.into_owned())
            }
        });

        url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
    }

    #[test]
    fn signed_urls_live_under_the_base_url_and_verify() {
        let signed = signer().sign(KEY, &options(None), at(1_000)).unwrap();
        let (key, query) = split(&signed.url);

        let verified = signer().verify(&key, &query, at(1_000)).unwrap();

        assert!(signed.url.starts_with("https://orator.example/files/uploads/0192/audio-1.mp3?"));
        assert_eq!(key, KEY);
        assert_eq!(signed.expires_at, at(1_600));
        assert_eq!(
            verified,
            VerifiedGet { content_type: "audio/mpeg".to_owned(), disposition: None }
        );
    }

    #[test]
    fn a_download_name_becomes_an_attachment_disposition() {
        let signed = signer().sign(KEY, &options(Some("Mon livre.mp3")), at(1_000)).unwrap();
        let (key, query) = split(&signed.url);

        let verified = signer().verify(&key, &query, at(1_000)).unwrap();

        assert_eq!(verified.disposition, Some(content_disposition_attachment("Mon livre.mp3")));
    }

    #[test]
    fn content_types_with_plus_signs_survive_the_query_string() {
        let options =
            SignedGet { content_type: "application/epub+zip".to_owned(), ..options(None) };
        let signed = signer().sign(KEY, &options, at(1_000)).unwrap();
        let (key, query) = split(&signed.url);

        let verified = signer().verify(&key, &query, at(1_000)).unwrap();

        assert_eq!(verified.content_type, "application/epub+zip");
    }

    #[test]
    fn urls_are_valid_until_their_expiry_second_and_refused_after() {
        let signed = signer().sign(KEY, &options(None), at(1_000)).unwrap();
        let (key, query) = split(&signed.url);

        assert!(signer().verify(&key, &query, at(1_600)).is_ok());
        assert_eq!(signer().verify(&key, &query, at(1_601)), Err(SignatureError::Expired));
    }

    #[test]
    fn a_changed_key_is_refused() {
        let signed = signer().sign(KEY, &options(None), at(1_000)).unwrap();
        let (_, query) = split(&signed.url);

        let result = signer().verify("uploads/0192/audio-2.mp3", &query, at(1_000));

        assert_eq!(result, Err(SignatureError::Invalid));
    }

    #[test]
    fn changed_expiry_content_type_or_download_name_are_refused() {
        let signed = signer().sign(KEY, &options(Some("a.mp3")), at(1_000)).unwrap();
        let (key, query) = split(&signed.url);

        for (name, value) in [("expires", "99999999"), ("ct", "text/html"), ("dn", "b.mp3")] {
            let tampered = with_param(&query, name, value);

            let result = signer().verify(&key, &tampered, at(1_000));

            assert_eq!(result, Err(SignatureError::Invalid), "changed {name}");
        }
    }

    #[test]
    fn dropping_or_adding_a_download_name_is_refused() {
        let inline = signer().sign(KEY, &options(None), at(1_000)).unwrap();
        let attachment = signer().sign(KEY, &options(Some("")), at(1_000)).unwrap();
        let (key, inline_query) = split(&inline.url);
        let (_, attachment_query) = split(&attachment.url);

        let added = format!("{inline_query}&dn=");
        let dropped: String = attachment_query
            .split('&')
            .filter(|p| !p.starts_with("dn="))
            .collect::<Vec<_>>()
            .join("&");

        assert_eq!(signer().verify(&key, &added, at(1_000)), Err(SignatureError::Invalid));
        assert_eq!(signer().verify(&key, &dropped, at(1_000)), Err(SignatureError::Invalid));
    }

    #[test]
    fn a_changed_signature_or_another_signing_key_is_refused() {
        let signed = signer().sign(KEY, &options(None), at(1_000)).unwrap();
        let (key, query) = split(&signed.url);
        let other_key = UrlSigner::new(
            vec![8; MIN_SIGNING_KEY_BYTES],
            Url::parse("https://orator.example/files").unwrap(),
        )
        .unwrap();
        let flipped = with_param(&query, "sig", &"0".repeat(64));

        assert_eq!(other_key.verify(&key, &query, at(1_000)), Err(SignatureError::Invalid));
        assert_eq!(signer().verify(&key, &flipped, at(1_000)), Err(SignatureError::Invalid));
    }

    #[test]
    fn an_expired_forgery_reports_the_forgery_not_the_expiry() {
        let signed = signer().sign(KEY, &options(None), at(1_000)).unwrap();
        let (key, query) = split(&signed.url);
        let tampered = with_param(&query, "ct", "text/html");

        assert_eq!(signer().verify(&key, &tampered, at(9_999)), Err(SignatureError::Invalid));
    }

    #[test]
    fn missing_repeated_or_unreadable_parameters_are_malformed() {
        let signed = signer().sign(KEY, &options(None), at(1_000)).unwrap();
        let (key, query) = split(&signed.url);

        let cases = [
            query.split('&').filter(|p| !p.starts_with("sig=")).collect::<Vec<_>>().join("&"),
            query.split('&').filter(|p| !p.starts_with("expires=")).collect::<Vec<_>>().join("&"),
            query.split('&').filter(|p| !p.starts_with("ct=")).collect::<Vec<_>>().join("&"),
            format!("{query}&ct=audio%2Fmpeg"),
            with_param(&query, "expires", "+1600"),
            with_param(&query, "sig", "not-hex"),
            String::new(),
        ];

        for case in cases {
            assert_eq!(
                signer().verify(&key, &case, at(1_000)),
                Err(SignatureError::Malformed),
                "{case:?}"
            );
        }
        assert_eq!(
            signer().verify("../etc/passwd", &query, at(1_000)),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn unknown_parameters_are_ignored() {
        let signed = signer().sign(KEY, &options(None), at(1_000)).unwrap();
        let (key, query) = split(&signed.url);

        assert!(signer().verify(&key, &format!("{query}&_=123"), at(1_000)).is_ok());
    }

    #[test]
    fn signers_refuse_short_keys_and_odd_base_urls() {
        let base = Url::parse("https://orator.example/files").unwrap();
        let short = UrlSigner::new(vec![1; MIN_SIGNING_KEY_BYTES - 1], base);

        assert!(matches!(short, Err(SignerError::KeyTooShort)));
        for base in
            ["mailto:a@b.c", "ftp://host/files", "https://host/files?x=1", "https://host/files#f"]
        {
            let result = UrlSigner::new(vec![1; MIN_SIGNING_KEY_BYTES], Url::parse(base).unwrap());
            assert!(matches!(result, Err(SignerError::UnsupportedBaseUrl)), "{base}");
        }
    }

    #[test]
    fn a_base_url_with_a_trailing_slash_gives_the_same_urls() {
        let with_slash = Url::parse("https://orator.example/files/").unwrap();
        let signer_with_slash = UrlSigner::new(vec![7; MIN_SIGNING_KEY_BYTES], with_slash).unwrap();

        let a = signer().sign(KEY, &options(None), at(1_000)).unwrap();
        let b = signer_with_slash.sign(KEY, &options(None), at(1_000)).unwrap();

        assert_eq!(a, b);
    }

    #[test]
    fn the_signing_key_never_shows_in_debug_output() {
        let signer = UrlSigner::new(
            b"super-secret-signing-key-material!!".to_vec(),
            Url::parse("https://h/files").unwrap(),
        )
        .unwrap();

        assert!(!format!("{signer:?}").contains("super-secret"));
    }
}

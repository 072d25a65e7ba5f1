//! Secrets handed to clients (session, CSRF, API and mail tokens): generated from the OS
//! random source, shown once, and stored only as SHA-256 hashes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Prefix of session tokens returned by login.
pub const SESSION_PREFIX: &str = "ors_";
/// Prefix of personal API tokens.
pub const API_TOKEN_PREFIX: &str = "orp_";

/// A freshly generated token and the hash to store.
#[derive(Clone)]
pub struct IssuedToken {
    /// The token for the client; never stored.
    pub plaintext: String,
    /// SHA-256 of the plaintext, for the database.
    pub hash: Vec<u8>,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IssuedToken(**redacted**)")
    }
}

/// Generates a 256-bit token with the given prefix.
pub fn issue(prefix: &str) -> IssuedToken {
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let plaintext = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash(&plaintext);

    IssuedToken { plaintext, hash }
}

/// The stored form of a token.
pub fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hashed() {
        let first = issue(SESSION_PREFIX);
        let second = issue(SESSION_PREFIX);

        assert_ne!(first.plaintext, second.plaintext);
        assert!(first.plaintext.starts_with(SESSION_PREFIX));
        assert_eq!(first.hash, hash(&first.plaintext));
        assert_eq!(first.hash.len(), 32);
        assert!(!format!("{first:?}").contains(&first.plaintext));
    }
}

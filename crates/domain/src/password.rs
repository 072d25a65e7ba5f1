//! Password rules and hashing: Argon2id for storage, zxcvbn to refuse common passwords.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;

/// Why a password was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weakness {
    /// Shorter than the configured minimum.
    TooShort,
    /// Longer than the hashing limit.
    TooLong,
    /// A common or easily guessed password.
    TooCommon,
}

/// Longest accepted password, in bytes (bounds the hashing work per request).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// What a password must satisfy.
#[derive(Debug, Clone, Copy)]
pub struct PasswordPolicy {
    /// Minimum length in characters.
    pub min_length: usize,
    /// Minimum zxcvbn score, 0 to 4.
    pub min_strength: u8,
}

impl PasswordPolicy {
    /// Checks `password`, using `context` (email, name) as words that must not help it.
    pub fn check(&self, password: &str, context: &[&str]) -> Result<(), Weakness> {
        if password.chars().count() < self.min_length {
            return Err(Weakness::TooShort);
        }
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(Weakness::TooLong);
        }

        // A password built from the user's own address or name is guessable whatever its score.
        let squashed = |text: &str| -> String {
            text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
        };
        let password_letters = squashed(password);
        let personal = context
            .iter()
            .map(|text| squashed(text.split('@').next().unwrap_or(text)))
            .any(|word| word.len() >= 4 && password_letters.contains(&word));
        if personal {
            return Err(Weakness::TooCommon);
        }

        // zxcvbn's cost grows with length; its first 100 characters decide the score.
        let sample: String = password.chars().take(100).collect();
        let words: Vec<&str> = context
            .iter()
            .flat_map(|text| text.split(|c: char| !c.is_alphanumeric()))
            .filter(|word| word.len() >= 3)
            .chain(context.iter().copied())
            .collect();
        let score = u8::from(zxcvbn::zxcvbn(&sample, &words).score());
        if score < self.min_strength {
            return Err(Weakness::TooCommon);
        }

        Ok(())
    }
}

/// Hashes a password with Argon2id and a random salt (CPU-heavy: call off the async threads).
pub fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0_u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt)?;

    Ok(Argon2::default().hash_password(password.as_bytes(), &salt)?.to_string())
}

/// Checks a password against a stored hash; a malformed hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };

    Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
}

/// A hash of a random password, verified against when the account does not exist so that
/// an unknown email costs as much time as a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let mut random = [0_u8; 24];
        rand::rng().fill_bytes(&mut random);
        hash(&hex::encode(random)).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: PasswordPolicy = PasswordPolicy { min_length: 10, min_strength: 2 };

    #[test]
    fn common_passwords_are_refused() {
        for password in ["password123", "1234567890", "qwertyuiop", "iloveyou12"] {
            assert_eq!(POLICY.check(password, &[]), Err(Weakness::TooCommon), "{password}");
        }
    }

    #[test]
    fn short_passwords_are_refused() {
        assert_eq!(POLICY.check("Xk9#fT2", &[]), Err(Weakness::TooShort));
    }

    #[test]
    fn strong_passwords_pass() {
        assert_eq!(POLICY.check("violet-harbor-tangent-42", &[]), Ok(()));
    }

    #[test]
    fn the_email_does_not_make_a_password_strong() {
        let email = "marguerite.okonkwo@example.com";

        assert!(POLICY.check("marguerite.okonkwo", &[email]).is_err());
    }

    #[test]
    fn hash_verifies_only_the_right_password() {
        let stored = hash("violet-harbor-tangent-42").unwrap();

        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("violet-harbor-tangent-42", &stored));
        assert!(!verify("violet-harbor-tangent-43", &stored));
        assert!(!verify("anything", "not a hash"));
    }
}

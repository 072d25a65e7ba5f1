//! A wrapper for values that must never reach a log line or an error message.

use std::fmt;

use crate::FromSetting;

/// A secret value: readable through [`Secret::expose`], invisible to `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// Gives the value to code that has to use it (a driver, a hash function).
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(**redacted**)")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("**redacted**")
    }
}

impl<T: FromSetting> FromSetting for Secret<T> {
    fn from_setting(raw: &str) -> Result<Self, String> {
        // The inner parser's message could quote the value; replace it with a neutral one.
        T::from_setting(raw).map(Secret).map_err(|_| "not a valid value".to_owned())
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let secret = Secret::new("hunter2".to_owned());

        assert!(!format!("{secret:?}").contains("hunter2"));
        assert!(!format!("{secret}").contains("hunter2"));
        assert_eq!(secret.expose(), "hunter2");
    }
}

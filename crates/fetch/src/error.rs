//! The errors a fetch can end with, each with a stable code for API responses.

/// Why a page could not be fetched. `Display` texts never include the URL or an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The URL, a redirect target or a resolved address is refused by the fetch policy.
    #[error("this address may not be fetched")]
    NotAllowed,
    /// The whole fetch did not finish within the policy's deadline.
    #[error("fetching the page took too long")]
    Timeout,
    /// The page body is larger than the policy allows.
    #[error("the page is larger than the allowed size")]
    TooLarge,
    /// The page is not HTML, XHTML or plain text.
    #[error("the page has an unsupported content type")]
    UnsupportedContentType,
    /// The remote server answered with an error status, or with a redirect that could not be
    /// followed (no usable `Location`, or more redirects than the policy allows).
    #[error("the remote server answered with status {0}")]
    HttpStatus(u16),
    /// The remote server could not be resolved, reached, or read from.
    #[error("the remote server could not be reached")]
    Network,
}

impl FetchError {
    /// The stable snake_case code reported to API clients.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotAllowed => "url_not_allowed",
            Self::Timeout => "fetch_timeout",
            Self::TooLarge => "fetch_too_large",
            Self::UnsupportedContentType => "unsupported_media_type",
            Self::HttpStatus(_) | Self::Network => "fetch_failed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FetchError;

    const ALL: [FetchError; 6] = [
        FetchError::NotAllowed,
        FetchError::Timeout,
        FetchError::TooLarge,
        FetchError::UnsupportedContentType,
        FetchError::HttpStatus(302),
        FetchError::Network,
    ];

    #[test]
    fn every_error_has_a_snake_case_code() {
        for error in ALL {
            let code = error.code();

            assert!(!code.is_empty());
            assert!(code.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{code}");
        }
    }

    #[test]
    fn error_texts_never_contain_a_url_or_address() {
        for error in ALL {
            let text = error.to_string();

            assert!(!text.contains("://"), "{text}");
            assert!(!text.contains("127.0.0.1"), "{text}");
            assert!(!text.contains("localhost"), "{text}");
        }
    }
}

//! Why a document could not be turned into pages. Every variant reaches the user, through
//! its stable [`IngestError::code`]; the `Display` texts never include document content.

/// Why a document could not be turned into pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    /// The PDF is encrypted and cannot be opened without a password.
    #[error("the PDF is protected by a password")]
    PdfEncrypted,
    /// The document is corrupt, truncated or otherwise not readable as its format.
    #[error("the document could not be read")]
    Unreadable,
    /// The document holds no extractable text (for example a scanned PDF).
    #[error("no text was found in the document")]
    NoTextFound,
    /// The document exceeds a page, character or decompression limit.
    #[error("the document is too large")]
    TooLarge,
    /// The content is not a supported document type: what a caller reports when
    /// [`detect`](crate::detect) finds no format.
    #[error("the document type is not supported")]
    Unsupported,
}

impl IngestError {
    /// The stable snake_case code stored with the failed document and shown to clients.
    pub fn code(&self) -> &'static str {
        match self {
            Self::PdfEncrypted => "pdf_encrypted",
            Self::Unreadable => "unreadable_document",
            Self::NoTextFound => "no_text_found",
            Self::TooLarge => "document_too_large",
            Self::Unsupported => "unsupported_media_type",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_its_stable_code() {
        let pairs = [
            (IngestError::PdfEncrypted, "pdf_encrypted"),
            (IngestError::Unreadable, "unreadable_document"),
            (IngestError::NoTextFound, "no_text_found"),
            (IngestError::TooLarge, "document_too_large"),
            (IngestError::Unsupported, "unsupported_media_type"),
        ];

        for (error, code) in pairs {
            assert_eq!(error.code(), code);
        }
    }
}

//! Message catalogs (Fluent files under `locales/`) and language negotiation.
//!
//! Every error code has a title (`err-{code}`) and a detail (`err-{code}-detail`) in every
//! shipped language, and every field code a message (`field-{code}`); a test enforces it.

use std::borrow::Cow;
use std::collections::HashMap;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{Loader, static_loader};
use unic_langid::{LanguageIdentifier, langid};

static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// Languages with a complete catalog, in order of preference when the client has none.
pub const SHIPPED: &[&str] = &["en", "es"];

/// A language the API answers in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locale(LanguageIdentifier);

impl Default for Locale {
    fn default() -> Self {
        Self(langid!("en"))
    }
}

impl Locale {
    /// The language's tag, for `Content-Language`.
    pub fn tag(&self) -> String {
        self.0.to_string()
    }

    /// Picks the best shipped language for an `Accept-Language` header value.
    pub fn negotiate(accept_language: Option<&str>) -> Self {
        let Some(header) = accept_language else {
            return Self::default();
        };

        let mut ranges: Vec<(String, f32)> = header
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.trim().split(';');
                let range = pieces.next()?.trim().to_ascii_lowercase();
                let quality = pieces
                    .find_map(|piece| piece.trim().strip_prefix("q=").map(str::to_owned))
                    .map_or(Some(1.0), |q| q.parse::<f32>().ok())?;
                (!range.is_empty() && quality > 0.0).then_some((range, quality))
            })
            .collect();
        ranges.sort_by(|a, b| b.1.total_cmp(&a.1));

        for (range, _) in ranges {
            let primary = range.split('-').next().unwrap_or_default();
            let shipped = SHIPPED.iter().find(|tag| **tag == primary);
            if let Some(id) = shipped.and_then(|tag| tag.parse::<LanguageIdentifier>().ok()) {
                return Self(id);
            }
        }

        Self::default()
    }

    /// The best shipped language for a request's `Accept-Language`.
    pub fn of(req: &actix_web::HttpRequest) -> Self {
        let header = req.headers().get(actix_web::http::header::ACCEPT_LANGUAGE);
        Self::negotiate(header.and_then(|value| value.to_str().ok()))
    }

    /// A message by id, falling back to English, then to the id itself.
    pub fn message(&self, id: &str) -> String {
        LOCALES.try_lookup(&self.0, id).unwrap_or_else(|| id.to_owned())
    }

    /// A message with named arguments.
    pub fn message_with(&self, id: &str, args: &[(&'static str, String)]) -> String {
        let args: HashMap<Cow<'static, str>, FluentValue> = args
            .iter()
            .map(|(name, value)| (Cow::Borrowed(*name), FluentValue::from(value.clone())))
            .collect();

        LOCALES.try_lookup_with_args(&self.0, id, &args).unwrap_or_else(|| id.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ErrorCode, FieldCode};

    fn catalog(tag: &str) -> &'static str {
        match tag {
            "en" => include_str!("../locales/en/main.ftl"),
            "es" => include_str!("../locales/es/main.ftl"),
            other => panic!("no catalog for {other}"),
        }
    }

    fn has_message(catalog: &str, id: &str) -> bool {
        catalog.lines().any(|line| {
            line.strip_prefix(id).is_some_and(|rest| rest.trim_start().starts_with('='))
        })
    }

    #[test]
    fn every_code_has_a_message_in_every_language() {
        let mut missing = Vec::new();

        for tag in SHIPPED {
            let text = catalog(tag);
            for code in ErrorCode::ALL {
                for id in
                    [format!("err-{}", code.as_str()), format!("err-{}-detail", code.as_str())]
                {
                    if !has_message(text, &id) {
                        missing.push(format!("{tag}: {id}"));
                    }
                }
            }
            for code in FieldCode::ALL {
                let id = format!("field-{}", code.as_str());
                if !has_message(text, &id) {
                    missing.push(format!("{tag}: {id}"));
                }
            }
            for code in orator_domain::documents::FAILURE_CODES {
                let id = format!("doc-{code}");
                if !has_message(text, &id) {
                    missing.push(format!("{tag}: {id}"));
                }
            }
            for code in orator_domain::audios::FAILURE_CODES {
                let id = format!("audio-{code}");
                if !has_message(text, &id) {
                    missing.push(format!("{tag}: {id}"));
                }
            }
        }

        assert!(missing.is_empty(), "missing messages: {missing:?}");
    }

    #[test]
    fn negotiation_honours_quality_and_regions() {
        let cases = [
            (None, "en"),
            (Some("es"), "es"),
            (Some("es-MX,es;q=0.9,en;q=0.8"), "es"),
            (Some("fr-CH, fr;q=0.9, en;q=0.8"), "en"),
            (Some("en;q=0.2, es;q=0.9"), "es"),
            (Some("de"), "en"),
            (Some("es;q=0"), "en"),
            (Some(";;;,,"), "en"),
        ];

        for (header, expected) in cases {
            assert_eq!(Locale::negotiate(header).tag(), expected, "{header:?}");
        }
    }

    #[test]
    fn messages_are_translated_without_isolation_marks() {
        let spanish = Locale::negotiate(Some("es"));

        let message = spanish.message("err-not_found");

        assert_ne!(message, Locale::default().message("err-not_found"));
        assert!(!message.contains('\u{2068}'));
    }
}

//! Keyset pagination: lists are ordered newest first by `(created_at, id)` and continue
//! after an opaque cursor, so pages stay stable while rows are added.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The keyset condition "after this cursor" for a list ordered newest first by
/// `(created_at, id)`: rows older than the cursor, or as old with a smaller id.
#[macro_export]
macro_rules! after_cursor {
    ($created_at:expr, $id:expr, $after:expr) => {
        $created_at
            .lt($after.created_at)
            .or($created_at.eq($after.created_at).and($id.lt($after.id)))
    };
}

/// Default number of items per page.
pub const DEFAULT_LIMIT: i64 = 20;
/// Largest number of items per page.
pub const MAX_LIMIT: i64 = 100;

/// The position after which the next page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// `created_at` of the last item seen.
    #[serde(rename = "t")]
    pub created_at: DateTime<Utc>,
    /// `id` of the last item seen.
    #[serde(rename = "i")]
    pub id: Uuid,
}

impl Cursor {
    /// The cursor's opaque text form.
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Reads a cursor from its text form; `None` when it is not one.
    pub fn decode(text: &str) -> Option<Self> {
        if text.len() > 200 {
            return None;
        }
        let json = URL_SAFE_NO_PAD.decode(text).ok()?;
        serde_json::from_slice(&json).ok()
    }
}

/// The position after which a list ordered by page number continues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberCursor {
    /// Number of the last page seen.
    #[serde(rename = "n")]
    pub number: i32,
}

impl NumberCursor {
    /// The cursor's opaque text form.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Reads a cursor from its text form; `None` when it is not one.
    pub fn decode(text: &str) -> Option<Self> {
        if text.len() > 100 {
            return None;
        }
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(text).ok()?).ok()
    }
}

/// Which page to read.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    /// Items per page, within `1..=MAX_LIMIT`.
    pub limit: i64,
    /// Start after this item.
    pub after: Option<Cursor>,
}

/// One page of a list (a slice of it, to keep "page" for document pages).
#[derive(Debug, Clone)]
pub struct Slice<T> {
    /// The items, newest first.
    pub items: Vec<T>,
    /// The cursor of the next page, when there is one.
    pub next_cursor: Option<String>,
}

impl PageRequest {
    /// Builds the page from `limit + 1` fetched rows: the extra row only says that more exist.
    pub fn finish<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> Cursor) -> Slice<T> {
        let limit = usize::try_from(self.limit).unwrap_or(0);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = if more { rows.last().map(|row| key(row).encode()) } else { None };

        Slice { items: rows, next_cursor }
    }

    /// The number of rows to fetch.
    pub fn fetch_limit(&self) -> i64 {
        self.limit + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        let cursor = Cursor { created_at: Utc::now(), id: Uuid::now_v7() };

        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
    }

    #[test]
    fn garbage_is_not_a_cursor() {
        for text in ["", "abc", "!!!!", &"a".repeat(500)] {
            assert_eq!(Cursor::decode(text), None);
        }
    }

    #[test]
    fn finish_reports_more_only_when_there_is_more() {
        let request = PageRequest { limit: 2, after: None };
        let key = |n: &u32| Cursor {
            created_at: DateTime::<Utc>::from_timestamp(i64::from(*n), 0).unwrap_or_default(),
            id: Uuid::nil(),
        };

        let full = request.finish(vec![3, 2, 1], key);
        let last = request.finish(vec![3, 2], key);

        assert_eq!(full.items, vec![3, 2]);
        assert!(full.next_cursor.is_some());
        assert!(last.next_cursor.is_none());
    }
}

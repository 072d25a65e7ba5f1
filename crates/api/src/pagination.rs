//! The `?limit=&cursor=` query every list accepts, and the `{items, next_cursor}` answer.

use orator_domain::pagination::{Cursor, DEFAULT_LIMIT, MAX_LIMIT, PageRequest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ErrorCode};

/// Paging parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl ListQuery {
    /// Checks the parameters; anything out of range or malformed is 400 `invalid_query`.
    pub fn page(&self) -> Result<PageRequest, ApiError> {
        let limit = self.limit()?;
        let after = match &self.cursor {
            None => None,
            Some(raw) => {
                Some(Cursor::decode(raw).ok_or_else(|| ApiError::new(ErrorCode::InvalidQuery))?)
            }
        };

        Ok(PageRequest { limit, after })
    }
}

impl ListQuery {
    /// The checked `limit` alone, for lists with their own kind of cursor.
    pub fn limit(&self) -> Result<i64, ApiError> {
        match &self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(raw) => raw
                .parse::<i64>()
                .ok()
                .filter(|limit| (1..=MAX_LIMIT).contains(limit))
                .ok_or_else(|| ApiError::new(ErrorCode::InvalidQuery)),
        }
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Paginated<T> {
    /// The items, newest first.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Paginated<T> {
    /// Converts a domain page, mapping each item.
    pub fn from_page<U>(page: orator_domain::pagination::Slice<U>, map: impl Fn(U) -> T) -> Self {
        Self { items: page.items.into_iter().map(map).collect(), next_cursor: page.next_cursor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(limit: Option<&str>, cursor: Option<&str>) -> ListQuery {
        ListQuery { limit: limit.map(str::to_owned), cursor: cursor.map(str::to_owned) }
    }

    #[test]
    fn limit_defaults_and_bounds() {
        assert_eq!(query(None, None).page().unwrap().limit, 20);
        assert_eq!(query(Some("1"), None).page().unwrap().limit, 1);
        assert_eq!(query(Some("100"), None).page().unwrap().limit, 100);
        for bad in ["0", "101", "-1", "abc", "1.5", "", "99999999999999999999"] {
            assert!(query(Some(bad), None).page().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn bad_cursor_is_refused() {
        assert!(query(None, Some("not-a-cursor")).page().is_err());
    }
}

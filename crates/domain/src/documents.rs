//! Documents and their pages: creation with its processing job, listing, renaming,
//! deletion, retry, and the worker's side of parsing.
//!
//! A document row and the job that processes it are written in one transaction; the stored
//! object is written before it (and removed again by the caller if the transaction fails).
//! Page text is the user's Markdown as written: it is only ever bound as a query parameter.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::DbError;
use crate::jobs::{self, Job};
use crate::pagination::{Cursor, NumberCursor, PageRequest, Slice};
use crate::schema::{audios, documents, pages, shares};

/// Longest title, in characters.
pub const TITLE_MAX_CHARS: usize = 255;

/// Every code a failed document can carry, as clients see it in `error.code`.
pub const FAILURE_CODES: &[&str] = &[
    "pdf_encrypted",
    "unreadable_document",
    "no_text_found",
    "document_too_large",
    "unsupported_media_type",
    "url_not_allowed",
    "fetch_timeout",
    "fetch_too_large",
    "fetch_failed",
    "processing_failed",
    "processing_timed_out",
];

/// A document row.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = documents, check_for_backend(diesel::pg::Pg))]
pub struct Document {
    /// Identifier.
    pub id: Uuid,
    /// The user who created it.
    pub owner_id: Uuid,
    /// Title, 1 to 255 characters.
    pub title: String,
    /// Whether the title is a placeholder, to be replaced by one found in the content.
    pub auto_title: bool,
    /// `upload`, `url` or `text`.
    pub source_kind: String,
    /// The page URL, for URL imports.
    pub source_url: Option<String>,
    /// The uploaded file's name, sanitized for display.
    pub original_filename: Option<String>,
    /// The sniffed media type of the stored source.
    pub content_type: Option<String>,
    /// Size of the stored source, in bytes.
    pub size_bytes: Option<i64>,
    /// Server-chosen key of the stored source.
    pub storage_key: Option<String>,
    /// `pending`, `processing`, `ready` or `failed`.
    pub status: String,
    /// Why processing failed, as a stable code.
    pub error_code: Option<String>,
    /// Number of pages.
    pub page_count: i32,
    /// Processing attempts so far.
    pub attempts: i32,
    /// Unused by the outbox design; kept for per-document leases.
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When processing finished.
    pub processed_at: Option<DateTime<Utc>>,
}

/// A page of a document.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = pages, check_for_backend(diesel::pg::Pg))]
pub struct Page {
    /// Identifier.
    pub id: Uuid,
    /// The document.
    pub document_id: Uuid,
    /// Position, from 1.
    pub number: i32,
    /// The page's Markdown.
    pub markdown: String,
    /// Characters of Markdown.
    pub char_count: i32,
    /// Audios ever created for the page, deleted ones included.
    pub audios_created: i32,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Where a document's content comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// An uploaded file.
    Upload,
    /// A web page, fetched by the worker.
    Url,
    /// Text pasted into the request.
    Text,
}

impl SourceKind {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Upload => "upload",
            Self::Url => "url",
            Self::Text => "text",
        }
    }
}

/// A document to create.
#[derive(Debug, Clone)]
pub struct NewDocument {
    /// The creator.
    pub owner_id: Uuid,
    /// Title, already trimmed and checked.
    pub title: String,
    /// Whether `title` is a placeholder.
    pub auto_title: bool,
    /// Where the content comes from.
    pub source_kind: SourceKind,
    /// The page URL, for URL imports.
    pub source_url: Option<String>,
    /// Display-safe original file name.
    pub original_filename: Option<String>,
    /// Sniffed media type.
    pub content_type: Option<String>,
    /// Stored size in bytes.
    pub size_bytes: Option<i64>,
    /// Server-chosen storage key.
    pub storage_key: Option<String>,
}

/// Why a document operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// The document or page does not exist.
    #[error("not found")]
    NotFound,
    /// Retry asked for a document that has not failed.
    #[error("document has not failed")]
    NotFailed,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for DocumentError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Db(DbError::Query(err))
    }
}

/// Creates a document and its processing job, in one transaction.
pub async fn create(
    conn: &mut AsyncPgConnection,
    new: &NewDocument,
    max_attempts: i32,
) -> Result<Document, DbError> {
    conn.transaction(async |conn| {
        let document = diesel::insert_into(documents::table)
            .values((
                documents::id.eq(Uuid::now_v7()),
                documents::owner_id.eq(new.owner_id),
                documents::title.eq(&new.title),
                documents::auto_title.eq(new.auto_title),
                documents::source_kind.eq(new.source_kind.as_str()),
                documents::source_url.eq(&new.source_url),
                documents::original_filename.eq(&new.original_filename),
                documents::content_type.eq(&new.content_type),
                documents::size_bytes.eq(new.size_bytes),
                documents::storage_key.eq(&new.storage_key),
            ))
            .returning(Document::as_returning())
            .get_result(conn)
            .await?;

        let job = Job::ParseDocument { document_id: document.id };
        jobs::enqueue(conn, &job, max_attempts, Utc::now()).await?;

        Ok(document)
    })
    .await
}

/// A document in a list, with its counts.
#[derive(Debug, Clone)]
pub struct DocumentSummary {
    /// The document.
    pub document: Document,
    /// Active audios over all its pages.
    pub audio_count: i64,
    /// Shares, pending ones included.
    pub share_count: i64,
}

diesel::define_sql_function! {
    /// `coalesce` for a bigint.
    fn coalesce(value: diesel::sql_types::Nullable<diesel::sql_types::BigInt>, fallback: diesel::sql_types::BigInt) -> diesel::sql_types::BigInt;
}

/// The owner's documents, newest first, with their counts: one SQL statement whatever the
/// number of documents.
pub async fn list_owned(
    conn: &mut AsyncPgConnection,
    owner_id: Uuid,
    page: PageRequest,
) -> Result<Slice<DocumentSummary>, DbError> {
    let audio_count = audios::table
        .filter(audios::document_id.eq(documents::id))
        .filter(audios::lifetime_status.eq("active"))
        .count()
        .single_value();
    let share_count =
        shares::table.filter(shares::document_id.eq(documents::id)).count().single_value();

    let mut query = documents::table
        .filter(documents::owner_id.eq(owner_id))
        .select((Document::as_select(), coalesce(audio_count, 0), coalesce(share_count, 0)))
        .order((documents::created_at.desc(), documents::id.desc()))
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(crate::after_cursor!(documents::created_at, documents::id, after));
    }

    let rows: Vec<(Document, i64, i64)> = query.load(conn).await?;
    let summaries = rows
        .into_iter()
        .map(|(document, audio_count, share_count)| DocumentSummary {
            document,
            audio_count,
            share_count,
        })
        .collect();

    Ok(page.finish(summaries, |summary| Cursor {
        created_at: summary.document.created_at,
        id: summary.document.id,
    }))
}

/// Renames a document.
pub async fn rename(
    conn: &mut AsyncPgConnection,
    document_id: Uuid,
    title: &str,
) -> Result<Document, DocumentError> {
    diesel::update(documents::table.find(document_id))
        .set((documents::title.eq(title), documents::updated_at.eq(Utc::now())))
        .returning(Document::as_returning())
        .get_result(conn)
        .await
        .optional()?
        .ok_or(DocumentError::NotFound)
}

/// Deletes a document and everything under it at once; its stored objects are removed by
/// a job (their keys travel in the job, since the rows are gone).
pub async fn delete(
    conn: &mut AsyncPgConnection,
    document_id: Uuid,
    max_attempts: i32,
    actor: &crate::shares::Actor,
) -> Result<(), DocumentError> {
    conn.transaction(async |conn| {
        let source: Option<Option<String>> = documents::table
            .find(document_id)
            .select(documents::storage_key)
            .for_update()
            .first(conn)
            .await
            .optional()?;
        let Some(source) = source else {
            return Err(DocumentError::NotFound);
        };
        let audio_keys: Vec<Option<String>> = audios::table
            .filter(audios::document_id.eq(document_id))
            .select(audios::storage_key)
            .load(conn)
            .await?;

        diesel::delete(documents::table.find(document_id)).execute(conn).await?;
        let entry = crate::shares::LogEntry {
            actor,
            document_id: Some(document_id),
            audio_id: None,
            action: crate::shares::Action::Delete,
            outcome: "success",
        };
        crate::shares::log_access(conn, entry).await?;

        let keys: Vec<String> =
            source.into_iter().chain(audio_keys.into_iter().flatten()).collect();
        if !keys.is_empty() {
            jobs::enqueue(conn, &Job::DeleteObjects { keys }, max_attempts, Utc::now()).await?;
        }
        Ok(())
    })
    .await
}

/// Starts processing a failed document again.
pub async fn retry(
    conn: &mut AsyncPgConnection,
    document_id: Uuid,
    max_attempts: i32,
) -> Result<Document, DocumentError> {
    conn.transaction(async |conn| {
        let document = diesel::update(documents::table.find(document_id))
            .filter(documents::status.eq("failed"))
            .set((
                documents::status.eq("pending"),
                documents::error_code.eq(None::<String>),
                documents::updated_at.eq(Utc::now()),
            ))
            .returning(Document::as_returning())
            .get_result(conn)
            .await
            .optional()?
            .ok_or(DocumentError::NotFailed)?;

        let job = Job::ParseDocument { document_id };
        jobs::enqueue(conn, &job, max_attempts, Utc::now()).await?;

        Ok(document)
    })
    .await
}

/// Claims a document for parsing. `None` when it is gone or already processed, which the
/// job treats as done.
pub async fn claim_for_parsing(
    conn: &mut AsyncPgConnection,
    document_id: Uuid,
) -> Result<Option<Document>, DbError> {
    let document = diesel::update(documents::table.find(document_id))
        .filter(documents::status.eq_any(["pending", "processing"]))
        .set((
            documents::status.eq("processing"),
            documents::attempts.eq(documents::attempts + 1),
            documents::updated_at.eq(Utc::now()),
        ))
        .returning(Document::as_returning())
        .get_result(conn)
        .await
        .optional()?;

    Ok(document)
}

/// Replaces the pages of a document being processed and marks it ready. Running it twice
/// leaves one set of pages; a document no longer processing is left alone.
pub async fn store_pages(
    conn: &mut AsyncPgConnection,
    document_id: Uuid,
    markdown_pages: &[String],
    title: Option<&str>,
) -> Result<bool, DbError> {
    conn.transaction(async |conn| {
        let processing: Option<Uuid> = documents::table
            .find(document_id)
            .filter(documents::status.eq("processing"))
            .select(documents::id)
            .for_update()
            .first(conn)
            .await
            .optional()?;
        if processing.is_none() {
            return Ok(false);
        }

        diesel::delete(pages::table.filter(pages::document_id.eq(document_id)))
            .execute(conn)
            .await?;
        let now = Utc::now();
        let rows: Vec<_> = markdown_pages
            .iter()
            .enumerate()
            .map(|(index, markdown)| {
                (
                    pages::id.eq(Uuid::now_v7()),
                    pages::document_id.eq(document_id),
                    pages::number.eq(i32::try_from(index + 1).unwrap_or(i32::MAX)),
                    pages::markdown.eq(markdown),
                    pages::char_count.eq(char_count(markdown)),
                    pages::created_at.eq(now),
                    pages::updated_at.eq(now),
                )
            })
            .collect();
        // Bound parameters per statement are limited; insert in batches.
        for batch in rows.chunks(1000) {
            diesel::insert_into(pages::table).values(batch).execute(conn).await?;
        }

        let page_count = i32::try_from(markdown_pages.len()).unwrap_or(i32::MAX);
        diesel::update(documents::table.find(document_id))
            .set((
                documents::status.eq("ready"),
                documents::page_count.eq(page_count),
                documents::error_code.eq(None::<String>),
                documents::processed_at.eq(Some(now)),
                documents::updated_at.eq(now),
            ))
            .execute(conn)
            .await?;
        if let Some(title) = title {
            // A title found in the content replaces a placeholder.
            diesel::update(documents::table.find(document_id))
                .filter(documents::auto_title.eq(true))
                .set((documents::title.eq(title), documents::auto_title.eq(false)))
                .execute(conn)
                .await?;
        }

        Ok(true)
    })
    .await
}

/// Marks a document failed with a stable error code.
pub async fn mark_failed(
    conn: &mut AsyncPgConnection,
    document_id: Uuid,
    error_code: &str,
) -> Result<(), DbError> {
    diesel::update(documents::table.find(document_id))
        .filter(documents::status.eq_any(["pending", "processing"]))
        .set((
            documents::status.eq("failed"),
            documents::error_code.eq(error_code),
            documents::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await?;

    Ok(())
}

/// Characters in a page, as stored in `char_count`.
pub fn char_count(markdown: &str) -> i32 {
    i32::try_from(markdown.chars().count()).unwrap_or(i32::MAX)
}

/// A document's pages in order, after `after` (a page number).
pub async fn list_pages(
    conn: &mut AsyncPgConnection,
    document_id: Uuid,
    limit: i64,
    after: Option<NumberCursor>,
) -> Result<(Vec<Page>, Option<String>), DbError> {
    let after_number = after.map_or(0, |cursor| cursor.number);

    let mut rows: Vec<Page> = pages::table
        .filter(pages::document_id.eq(document_id))
        .filter(pages::number.gt(after_number))
        .order(pages::number)
        .limit(limit + 1)
        .select(Page::as_select())
        .load(conn)
        .await?;

    let more = rows.len() > usize::try_from(limit).unwrap_or(0);
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next = if more {
        rows.last().map(|page| NumberCursor { number: page.number }.encode())
    } else {
        None
    };
    Ok((rows, next))
}

/// One page of a document, by number.
pub async fn page_by_number(
    conn: &mut AsyncPgConnection,
    document_id: Uuid,
    number: i32,
) -> Result<Page, DocumentError> {
    pages::table
        .filter(pages::document_id.eq(document_id))
        .filter(pages::number.eq(number))
        .select(Page::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or(DocumentError::NotFound)
}

/// One page by id, with the id of its document (for the access check).
pub async fn page_by_id(
    conn: &mut AsyncPgConnection,
    page_id: Uuid,
) -> Result<Page, DocumentError> {
    pages::table
        .find(page_id)
        .select(Page::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or(DocumentError::NotFound)
}

/// Appends a page after the last one.
pub async fn append_page(
    conn: &mut AsyncPgConnection,
    document_id: Uuid,
    markdown: &str,
) -> Result<Page, DocumentError> {
    conn.transaction(async |conn| {
        // The document row serializes appends, so numbers never collide.
        documents::table
            .find(document_id)
            .select(documents::id)
            .for_update()
            .first::<Uuid>(conn)
            .await
            .optional()?
            .ok_or(DocumentError::NotFound)?;
        let last: Option<i32> = pages::table
            .filter(pages::document_id.eq(document_id))
            .select(diesel::dsl::max(pages::number))
            .first(conn)
            .await?;

        let page = diesel::insert_into(pages::table)
            .values((
                pages::id.eq(Uuid::now_v7()),
                pages::document_id.eq(document_id),
                pages::number.eq(last.unwrap_or(0) + 1),
                pages::markdown.eq(markdown),
                pages::char_count.eq(char_count(markdown)),
            ))
            .returning(Page::as_returning())
            .get_result(conn)
            .await?;
        diesel::update(documents::table.find(document_id))
            .set((
                documents::page_count.eq(documents::page_count + 1),
                documents::updated_at.eq(Utc::now()),
            ))
            .execute(conn)
            .await?;

        Ok(page)
    })
    .await
}

/// Replaces a page's Markdown.
pub async fn update_page(
    conn: &mut AsyncPgConnection,
    page_id: Uuid,
    markdown: &str,
) -> Result<Page, DocumentError> {
    diesel::update(pages::table.find(page_id))
        .set((
            pages::markdown.eq(markdown),
            pages::char_count.eq(char_count(markdown)),
            pages::updated_at.eq(Utc::now()),
        ))
        .returning(Page::as_returning())
        .get_result(conn)
        .await
        .optional()?
        .ok_or(DocumentError::NotFound)
}

/// Whether any document references a storage key (for the orphan sweep).
pub async fn storage_key_in_use(conn: &mut AsyncPgConnection, key: &str) -> Result<bool, DbError> {
    let count: i64 =
        documents::table.filter(documents::storage_key.eq(key)).count().get_result(conn).await?;

    Ok(count > 0)
}

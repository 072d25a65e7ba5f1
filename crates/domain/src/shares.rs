//! Sharing a document with other people, and the access log of sensitive actions.
//!
//! A share names an email address. When the address belongs to a verified account the share
//! is active at once; otherwise it is a pending invitation that becomes active when that
//! address registers and verifies. Nothing returned to the sharer tells the two apart, so a
//! share never reveals whether an email has an account.
//!
//! Every share, unshare and permission change writes an access-log row in the same
//! transaction as the change.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::access::{AccessError, Capability, DocumentAccess, Role};
use crate::accounts::normalize_email;
use crate::db::DbError;
use crate::documents::Document;
use crate::pagination::{Cursor, PageRequest, Slice};
use crate::schema::{access_log, documents, shares, users};

/// Longest stored client address, in characters.
pub const CLIENT_ADDR_MAX_CHARS: usize = 64;
/// Longest stored user agent, in characters.
pub const USER_AGENT_MAX_CHARS: usize = 256;

/// A share row.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = shares, check_for_backend(diesel::pg::Pg))]
pub struct Share {
    /// Identifier.
    pub id: Uuid,
    /// The shared document.
    pub document_id: Uuid,
    /// The recipient's account, once the share is active.
    pub recipient_id: Option<Uuid>,
    /// The address the document was shared with.
    pub recipient_email: String,
    /// `view_only`, `collaborator` or `can_share`.
    pub permission: String,
    /// `pending` (an invitation) or `active`.
    pub status: String,
    /// Who made the share.
    pub created_by: Option<Uuid>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When the recipient's account took the share up.
    pub accepted_at: Option<DateTime<Utc>>,
}

/// Why a sharing operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    /// The share (or its document) is not visible to the caller.
    #[error("not found")]
    NotFound,
    /// The caller sees it but may not do this.
    #[error("permission denied")]
    PermissionDenied,
    /// Sharing with oneself or with the owner.
    #[error("invalid share target")]
    InvalidTarget,
    /// Not a permission a share can grant.
    #[error("invalid permission")]
    InvalidPermission,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<DieselError> for ShareError {
    fn from(err: DieselError) -> Self {
        Self::Db(DbError::Query(err))
    }
}

impl From<AccessError> for ShareError {
    fn from(err: AccessError) -> Self {
        match err {
            AccessError::NotFound => Self::NotFound,
            AccessError::PermissionDenied => Self::PermissionDenied,
            AccessError::Db(db) => Self::Db(db),
        }
    }
}

/// The actions the access log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Audio was asked for.
    Generate,
    /// Audio was played.
    Play,
    /// Audio was downloaded.
    Download,
    /// A document or audio was deleted.
    Delete,
    /// A document was shared.
    Share,
    /// A share was revoked or left.
    Unshare,
    /// A share's permission changed.
    PermissionChange,
}

impl Action {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Generate => "generate",
            Self::Play => "play",
            Self::Download => "download",
            Self::Delete => "delete",
            Self::Share => "share",
            Self::Unshare => "unshare",
            Self::PermissionChange => "permission_change",
        }
    }
}

/// Who did something and from where, for the access log.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The acting user.
    pub user_id: Uuid,
    /// Client address.
    pub client_addr: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
}

/// One access-log row to write.
#[derive(Debug, Clone, Copy)]
pub struct LogEntry<'a> {
    /// Who.
    pub actor: &'a Actor,
    /// Which document.
    pub document_id: Option<Uuid>,
    /// Which audio.
    pub audio_id: Option<Uuid>,
    /// What.
    pub action: Action,
    /// `success`, `denied` or `failed`.
    pub outcome: &'static str,
}

/// Writes an access-log row (inside the caller's transaction when there is one).
pub async fn log_access(conn: &mut AsyncPgConnection, entry: LogEntry<'_>) -> Result<(), DbError> {
    let truncate = |text: &Option<String>, max: usize| -> Option<String> {
        text.as_ref().map(|text| text.chars().take(max).collect())
    };

    diesel::insert_into(access_log::table)
        .values((
            access_log::actor_id.eq(entry.actor.user_id),
            access_log::document_id.eq(entry.document_id),
            access_log::audio_id.eq(entry.audio_id),
            access_log::action.eq(entry.action.as_str()),
            access_log::outcome.eq(entry.outcome),
            access_log::client_addr.eq(truncate(&entry.actor.client_addr, CLIENT_ADDR_MAX_CHARS)),
            access_log::user_agent.eq(truncate(&entry.actor.user_agent, USER_AGENT_MAX_CHARS)),
        ))
        .execute(conn)
        .await?;

    Ok(())
}

/// The result of sharing.
#[derive(Debug, Clone)]
pub struct Shared {
    /// The share.
    pub share: Share,
    /// Whether it is new (as opposed to a permission update of an existing share).
    pub created: bool,
    /// The recipient's account, when the address has a verified one (for the notice mail).
    pub recipient: Option<Uuid>,
}

/// Shares a document with `email` at `permission`, or updates the permission of an existing
/// share with that address. The caller must hold the share capability.
pub async fn share(
    conn: &mut AsyncPgConnection,
    access: &DocumentAccess,
    actor: &Actor,
    email: &str,
    permission: &str,
) -> Result<Shared, ShareError> {
    access.require(Capability::Share)?;
    Role::from_permission(permission).ok_or(ShareError::InvalidPermission)?;
    let email = normalize_email(email);
    let document = &access.document;

    conn.transaction(async |conn| {
        let owner_and_actor: Vec<(Uuid, String)> = users::table
            .filter(users::id.eq_any([document.owner_id, actor.user_id]))
            .select((users::id, users::email))
            .load(conn)
            .await?;
        if owner_and_actor.iter().any(|(_, address)| *address == email) {
            return Err(ShareError::InvalidTarget);
        }
        let recipient: Option<Uuid> = users::table
            .filter(users::email.eq(&email))
            .filter(users::email_verified_at.is_not_null())
            .select(users::id)
            .first(conn)
            .await
            .optional()?;

        let existing: Option<Share> = shares::table
            .filter(shares::document_id.eq(document.id))
            .filter(shares::recipient_email.eq(&email))
            .select(Share::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()?;
        let (share, created, action) = match existing {
            Some(existing) => {
                let share = diesel::update(shares::table.find(existing.id))
                    .set((shares::permission.eq(permission), shares::updated_at.eq(Utc::now())))
                    .returning(Share::as_returning())
                    .get_result(conn)
                    .await?;
                (share, false, Action::PermissionChange)
            }
            None => {
                let status = if recipient.is_some() { "active" } else { "pending" };
                let share = diesel::insert_into(shares::table)
                    .values((
                        shares::id.eq(Uuid::now_v7()),
                        shares::document_id.eq(document.id),
                        shares::recipient_id.eq(recipient),
                        shares::recipient_email.eq(&email),
                        shares::permission.eq(permission),
                        shares::status.eq(status),
                        shares::created_by.eq(actor.user_id),
                        shares::accepted_at.eq(recipient.map(|_| Utc::now())),
                    ))
                    .returning(Share::as_returning())
                    .get_result(conn)
                    .await?;
                (share, true, Action::Share)
            }
        };

        let entry = LogEntry {
            actor,
            document_id: Some(document.id),
            audio_id: None,
            action,
            outcome: "success",
        };
        log_access(conn, entry).await?;

        Ok(Shared { share, created, recipient })
    })
    .await
}

/// A share with the access the caller has to its document.
async fn share_for(
    conn: &mut AsyncPgConnection,
    actor_id: Uuid,
    share_id: Uuid,
) -> Result<(Share, DocumentAccess), ShareError> {
    let share: Share = shares::table
        .find(share_id)
        .select(Share::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or(ShareError::NotFound)?;

    if share.recipient_id == Some(actor_id) || share.created_by == Some(actor_id) {
        let document: Document = documents::table
            .find(share.document_id)
            .select(Document::as_select())
            .first(conn)
            .await?;
        let role = if document.owner_id == actor_id {
            Role::Owner
        } else {
            Role::from_permission(&share.permission).unwrap_or(Role::ViewOnly)
        };
        return Ok((share, DocumentAccess { document, role }));
    }

    let access = crate::access::document_for(conn, actor_id, share.document_id).await?;
    Ok((share, access))
}

/// Changes a share's permission: the owner, or whoever made the share.
pub async fn change_permission(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    share_id: Uuid,
    permission: &str,
) -> Result<Share, ShareError> {
    Role::from_permission(permission).ok_or(ShareError::InvalidPermission)?;
    let (share, access) = share_for(conn, actor.user_id, share_id).await?;
    let allowed = access.role == Role::Owner || share.created_by == Some(actor.user_id);
    if !allowed {
        return Err(ShareError::PermissionDenied);
    }

    conn.transaction(async |conn| {
        let updated = diesel::update(shares::table.find(share.id))
            .set((shares::permission.eq(permission), shares::updated_at.eq(Utc::now())))
            .returning(Share::as_returning())
            .get_result(conn)
            .await?;
        let entry = LogEntry {
            actor,
            document_id: Some(share.document_id),
            audio_id: None,
            action: Action::PermissionChange,
            outcome: "success",
        };
        log_access(conn, entry).await?;
        Ok(updated)
    })
    .await
}

/// Revokes a share: the owner, whoever made it, or the recipient leaving.
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    share_id: Uuid,
) -> Result<(), ShareError> {
    let (share, access) = share_for(conn, actor.user_id, share_id).await?;
    let allowed = access.role == Role::Owner
        || share.created_by == Some(actor.user_id)
        || share.recipient_id == Some(actor.user_id);
    if !allowed {
        return Err(ShareError::PermissionDenied);
    }

    conn.transaction(async |conn| {
        diesel::delete(shares::table.find(share.id)).execute(conn).await?;
        let entry = LogEntry {
            actor,
            document_id: Some(share.document_id),
            audio_id: None,
            action: Action::Unshare,
            outcome: "success",
        };
        log_access(conn, entry).await?;
        Ok(())
    })
    .await
}

/// A document's shares, newest first.
pub async fn list_for_document(
    conn: &mut AsyncPgConnection,
    document_id: Uuid,
    page: PageRequest,
) -> Result<Slice<Share>, DbError> {
    let mut query = shares::table
        .filter(shares::document_id.eq(document_id))
        .select(Share::as_select())
        .order((shares::created_at.desc(), shares::id.desc()))
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(crate::after_cursor!(shares::created_at, shares::id, after));
    }

    let rows = query.load(conn).await?;
    Ok(page.finish(rows, |share| Cursor { created_at: share.created_at, id: share.id }))
}

/// A document shared with the caller.
#[derive(Debug, Clone)]
pub struct SharedWithMe {
    /// The share.
    pub share: Share,
    /// The document.
    pub document: Document,
    /// The owner's display name.
    pub owner_name: Option<String>,
    /// The owner's address, only when the owner chose to show it.
    pub owner_email: Option<String>,
}

/// Documents actively shared with `user_id`, newest share first.
pub async fn shared_with(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    page: PageRequest,
) -> Result<Slice<SharedWithMe>, DbError> {
    let mut query = shares::table
        .inner_join(documents::table.inner_join(users::table))
        .filter(shares::recipient_id.eq(user_id))
        .filter(shares::status.eq("active"))
        .select((
            Share::as_select(),
            Document::as_select(),
            users::display_name,
            users::email,
            users::show_email_to_sharees,
        ))
        .order((shares::created_at.desc(), shares::id.desc()))
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(crate::after_cursor!(shares::created_at, shares::id, after));
    }

    let rows: Vec<(Share, Document, Option<String>, String, bool)> = query.load(conn).await?;
    let items = rows
        .into_iter()
        .map(|(share, document, owner_name, email, show)| SharedWithMe {
            share,
            document,
            owner_name,
            owner_email: show.then_some(email),
        })
        .collect();
    Ok(page.finish(items, |item| Cursor { created_at: item.share.created_at, id: item.share.id }))
}

/// Turns pending invitations to `email` into active shares of `user_id` (at verification).
pub async fn activate_invitations(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    email: &str,
) -> Result<usize, DbError> {
    let now = Utc::now();

    let activated = diesel::update(shares::table)
        .filter(shares::recipient_email.eq(normalize_email(email)))
        .filter(shares::status.eq("pending"))
        .set((
            shares::recipient_id.eq(user_id),
            shares::status.eq("active"),
            shares::accepted_at.eq(now),
            shares::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;

    Ok(activated)
}

/// One row of a document's activity.
#[derive(Debug, Clone, Queryable)]
pub struct Activity {
    /// Row id.
    pub id: i64,
    /// Who.
    pub actor_id: Option<Uuid>,
    /// Their display name.
    pub actor_name: Option<String>,
    /// Which audio.
    pub audio_id: Option<Uuid>,
    /// What.
    pub action: String,
    /// `success`, `denied` or `failed`.
    pub outcome: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A document's access log, newest first, after the row id `before`.
pub async fn activity(
    conn: &mut AsyncPgConnection,
    document_id: Uuid,
    limit: i64,
    before: Option<i64>,
) -> Result<Vec<Activity>, DbError> {
    let mut query = access_log::table
        .left_join(users::table)
        .filter(access_log::document_id.eq(document_id))
        .select((
            access_log::id,
            access_log::actor_id,
            users::display_name.nullable(),
            access_log::audio_id,
            access_log::action,
            access_log::outcome,
            access_log::created_at,
        ))
        .order(access_log::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(access_log::id.lt(before));
    }

    Ok(query.load(conn).await?)
}

//! The access policy: the one place that decides what a caller may do with a document.
//!
//! A caller's [`Role`] on a document comes from ownership or from an active share; staff get
//! no implicit role. Lookups take the acting user and answer "not found" both for a missing
//! document and for one the caller may not see, so ids cannot be probed; "permission denied"
//! is only for a caller who can see the document but not do the thing asked.
//!
//! | capability     | owner | can_share | collaborator | view_only |
//! |----------------|:-----:|:---------:|:------------:|:---------:|
//! | view           |   ✓   |     ✓     |      ✓       |     ✓     |
//! | play           |   ✓   |     ✓     |      ✓       |     ✓     |
//! | generate       |   ✓   |     ✓     |      ✓       |           |
//! | edit pages     |   ✓   |     ✓     |              |           |
//! | share          |   ✓   |     ✓     |              |           |
//! | rename         |   ✓   |           |              |           |
//! | manage shares  |   ✓   |           |              |           |
//! | delete         |   ✓   |           |              |           |
//! | delete audio   |   ✓   |    own    |     own      |           |
//! | view activity  |   ✓   |           |              |           |

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use crate::db::DbError;
use crate::documents::Document;
use crate::schema::{documents, shares};

/// What a caller is to a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Created the document.
    Owner,
    /// Shared with `can_share`.
    CanShare,
    /// Shared with `collaborator`.
    Collaborator,
    /// Shared with `view_only`.
    ViewOnly,
}

/// Something a caller may want to do with a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// See the document and its pages.
    View,
    /// Play and download its audio.
    Play,
    /// Ask for audio and retry it.
    Generate,
    /// Edit and add pages.
    EditPages,
    /// Share it further and see its shares.
    Share,
    /// Rename it and retry its processing.
    Rename,
    /// Change or revoke any share.
    ManageShares,
    /// Delete it, or its audio.
    Delete,
    /// Read its access log.
    ViewActivity,
}

impl Role {
    /// Whether the role allows the capability (the table in the module documentation).
    pub fn can(self, capability: Capability) -> bool {
        use Capability::{EditPages, Generate, Play, Share, View};

        match self {
            Self::Owner => true,
            Self::CanShare => matches!(capability, View | Play | Generate | EditPages | Share),
            Self::Collaborator => matches!(capability, View | Play | Generate),
            Self::ViewOnly => matches!(capability, View | Play),
        }
    }

    /// The role a share permission grants.
    pub fn from_permission(permission: &str) -> Option<Self> {
        match permission {
            "can_share" => Some(Self::CanShare),
            "collaborator" => Some(Self::Collaborator),
            "view_only" => Some(Self::ViewOnly),
            _ => None,
        }
    }

    /// The text of the role, as clients see it in `permission` fields.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::CanShare => "can_share",
            Self::Collaborator => "collaborator",
            Self::ViewOnly => "view_only",
        }
    }
}

/// Why access was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// No such document, or not one the caller may see.
    #[error("not found")]
    NotFound,
    /// The caller sees the document but may not do this.
    #[error("permission denied")]
    PermissionDenied,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for AccessError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Db(DbError::Query(err))
    }
}

/// A document as seen by one caller.
#[derive(Debug, Clone)]
pub struct DocumentAccess {
    /// The document.
    pub document: Document,
    /// The caller's role on it.
    pub role: Role,
}

impl DocumentAccess {
    /// Refuses with "permission denied" unless the caller's role allows `capability`.
    pub fn require(&self, capability: Capability) -> Result<(), AccessError> {
        if self.role.can(capability) { Ok(()) } else { Err(AccessError::PermissionDenied) }
    }
}

/// Whether the caller may delete an audio of the document: with the delete capability, or
/// as the one who asked for it while they may still generate audio there.
pub fn may_delete_audio(
    access: &DocumentAccess,
    actor: Uuid,
    requested_by: Option<Uuid>,
) -> Result<(), AccessError> {
    let requester = requested_by == Some(actor) && access.role.can(Capability::Generate);

    if requester || access.role.can(Capability::Delete) {
        Ok(())
    } else {
        Err(AccessError::PermissionDenied)
    }
}

/// The caller's role on a document, or "not found" when they may not see it.
pub async fn document_for(
    conn: &mut AsyncPgConnection,
    actor: Uuid,
    document_id: Uuid,
) -> Result<DocumentAccess, AccessError> {
    let found: Option<(Document, Option<String>)> = documents::table
        .left_join(
            shares::table.on(shares::document_id
                .eq(documents::id)
                .and(shares::recipient_id.eq(actor))
                .and(shares::status.eq("active"))),
        )
        .filter(documents::id.eq(document_id))
        .select((Document::as_select(), shares::permission.nullable()))
        .first(conn)
        .await
        .optional()?;
    let Some((document, permission)) = found else {
        return Err(AccessError::NotFound);
    };

    let role = if document.owner_id == actor {
        Role::Owner
    } else {
        permission.as_deref().and_then(Role::from_permission).ok_or(AccessError::NotFound)?
    };

    Ok(DocumentAccess { document, role })
}

/// The caller's role on a document, requiring `capability`: "not found" when the document is
/// invisible to them, "permission denied" when visible but not allowed.
pub async fn authorize(
    conn: &mut AsyncPgConnection,
    actor: Uuid,
    document_id: Uuid,
    capability: Capability,
) -> Result<DocumentAccess, AccessError> {
    let access = document_for(conn, actor, document_id).await?;
    access.require(capability)?;
    Ok(access)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_follow_the_table() {
        use Capability::*;
        let all =
            [View, Play, Generate, EditPages, Share, Rename, ManageShares, Delete, ViewActivity];
        let allowed = |role: Role| -> Vec<Capability> {
            all.iter().copied().filter(|cap| role.can(*cap)).collect()
        };

        assert_eq!(allowed(Role::Owner), all.to_vec());
        assert_eq!(allowed(Role::CanShare), vec![View, Play, Generate, EditPages, Share]);
        assert_eq!(allowed(Role::Collaborator), vec![View, Play, Generate]);
        assert_eq!(allowed(Role::ViewOnly), vec![View, Play]);
    }

    #[test]
    fn permissions_map_to_roles() {
        assert_eq!(Role::from_permission("view_only"), Some(Role::ViewOnly));
        assert_eq!(Role::from_permission("owner"), None);
        assert_eq!(Role::from_permission("admin"), None);
    }
}

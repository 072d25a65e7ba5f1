//! Site settings: the one row staff can change at run time (quotas, switches).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::DbError;
use crate::schema::site_settings;

/// The site settings row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = site_settings, check_for_backend(diesel::pg::Pg))]
pub struct SiteSettings {
    /// Always 1: there is one row.
    pub id: i16,
    /// Whether users may ask for new audio.
    pub generation_enabled: bool,
    /// Whether new accounts may be registered.
    pub registration_enabled: bool,
    /// Audios a page may ever have, counting deleted ones.
    pub max_audios_per_page: i32,
    /// Uploads one user may make per hour.
    pub uploads_per_hour: i32,
    /// Days an unplayed audio is kept.
    pub audio_retention_days: i32,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Staff member who made the last change.
    pub updated_by: Option<Uuid>,
}

/// Reads the site settings.
pub async fn load(conn: &mut AsyncPgConnection) -> Result<SiteSettings, DbError> {
    let settings =
        site_settings::table.find(1_i16).select(SiteSettings::as_select()).first(conn).await?;

    Ok(settings)
}

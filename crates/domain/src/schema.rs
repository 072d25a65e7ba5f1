// @generated automatically by Diesel CLI.

diesel::table! {
    access_log (id) {
        id -> Int8,
        actor_id -> Nullable<Uuid>,
        document_id -> Nullable<Uuid>,
        audio_id -> Nullable<Uuid>,
        action -> Text,
        outcome -> Text,
        client_addr -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    admin_audit_log (id) {
        id -> Int8,
        actor_id -> Nullable<Uuid>,
        action -> Text,
        target_type -> Text,
        target_id -> Nullable<Text>,
        before -> Nullable<Jsonb>,
        after -> Nullable<Jsonb>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Uuid,
        user_id -> Uuid,
        name -> Text,
        token_hash -> Bytea,
        created_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    audios (id) {
        id -> Uuid,
        page_id -> Uuid,
        document_id -> Uuid,
        requested_by -> Nullable<Uuid>,
        voice -> Text,
        engine -> Text,
        status -> Text,
        lifetime_status -> Text,
        error_code -> Nullable<Text>,
        attempts -> Int4,
        lease_expires_at -> Nullable<Timestamptz>,
        storage_key -> Nullable<Text>,
        duration_ms -> Nullable<Int8>,
        size_bytes -> Nullable<Int8>,
        char_count -> Nullable<Int4>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        ready_at -> Nullable<Timestamptz>,
        last_played_at -> Nullable<Timestamptz>,
        expires_at -> Nullable<Timestamptz>,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    documents (id) {
        id -> Uuid,
        owner_id -> Uuid,
        title -> Text,
        auto_title -> Bool,
        source_kind -> Text,
        source_url -> Nullable<Text>,
        original_filename -> Nullable<Text>,
        content_type -> Nullable<Text>,
        size_bytes -> Nullable<Int8>,
        storage_key -> Nullable<Text>,
        status -> Text,
        error_code -> Nullable<Text>,
        page_count -> Int4,
        attempts -> Int4,
        lease_expires_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        processed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    email_tokens (id) {
        id -> Uuid,
        user_id -> Uuid,
        purpose -> Text,
        token_hash -> Bytea,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    job_outbox (id) {
        id -> Int8,
        kind -> Text,
        payload -> Jsonb,
        status -> Text,
        attempts -> Int4,
        max_attempts -> Int4,
        run_after -> Timestamptz,
        lease_expires_at -> Nullable<Timestamptz>,
        last_error_code -> Nullable<Text>,
        created_at -> Timestamptz,
        enqueued_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    notifications (id) {
        id -> Uuid,
        user_id -> Uuid,
        kind -> Text,
        payload -> Jsonb,
        created_at -> Timestamptz,
        read_at -> Nullable<Timestamptz>,
        emailed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    pages (id) {
        id -> Uuid,
        document_id -> Uuid,
        number -> Int4,
        markdown -> Text,
        char_count -> Int4,
        audios_created -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (id) {
        id -> Uuid,
        user_id -> Uuid,
        token_hash -> Bytea,
        csrf_hash -> Bytea,
        user_agent -> Nullable<Text>,
        created_at -> Timestamptz,
        last_seen_at -> Timestamptz,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    shares (id) {
        id -> Uuid,
        document_id -> Uuid,
        recipient_id -> Nullable<Uuid>,
        recipient_email -> Text,
        permission -> Text,
        status -> Text,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        accepted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    site_settings (id) {
        id -> Int2,
        generation_enabled -> Bool,
        registration_enabled -> Bool,
        max_audios_per_page -> Int4,
        uploads_per_hour -> Int4,
        audio_retention_days -> Int4,
        updated_at -> Timestamptz,
        updated_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    task_failures (id) {
        id -> Int8,
        job_id -> Nullable<Int8>,
        job_kind -> Text,
        document_id -> Nullable<Uuid>,
        audio_id -> Nullable<Uuid>,
        attempt -> Int4,
        #[sql_name = "final"]
        final_ -> Bool,
        error_code -> Text,
        message -> Text,
        status -> Text,
        created_at -> Timestamptz,
        resolved_at -> Nullable<Timestamptz>,
        resolved_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Text,
        email_verified_at -> Nullable<Timestamptz>,
        password_hash -> Text,
        display_name -> Nullable<Text>,
        preferred_voice -> Nullable<Text>,
        show_email_to_sharees -> Bool,
        is_staff -> Bool,
        password_changed_at -> Timestamptz,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    voice_previews (voice) {
        voice -> Text,
        engine -> Text,
        storage_key -> Text,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(access_log -> users (actor_id));
diesel::joinable!(admin_audit_log -> users (actor_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(audios -> documents (document_id));
diesel::joinable!(audios -> pages (page_id));
diesel::joinable!(audios -> users (requested_by));
diesel::joinable!(documents -> users (owner_id));
diesel::joinable!(email_tokens -> users (user_id));
diesel::joinable!(notifications -> users (user_id));
diesel::joinable!(pages -> documents (document_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(shares -> documents (document_id));
diesel::joinable!(site_settings -> users (updated_by));
diesel::joinable!(task_failures -> audios (audio_id));
diesel::joinable!(task_failures -> documents (document_id));
diesel::joinable!(task_failures -> job_outbox (job_id));
diesel::joinable!(task_failures -> users (resolved_by));

diesel::allow_tables_to_appear_in_same_query!(
    access_log,
    admin_audit_log,
    api_tokens,
    audios,
    documents,
    email_tokens,
    job_outbox,
    notifications,
    pages,
    sessions,
    shares,
    site_settings,
    task_failures,
    users,
    voice_previews,
);

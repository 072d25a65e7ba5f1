-- What staff and the background machinery need: site settings, the admin audit log,
-- recorded task failures, in-app notifications and the job outbox.

CREATE TABLE site_settings (
    id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    generation_enabled boolean NOT NULL DEFAULT true,
    registration_enabled boolean NOT NULL DEFAULT true,
    max_audios_per_page integer NOT NULL DEFAULT 4 CHECK (max_audios_per_page BETWEEN 1 AND 100),
    uploads_per_hour integer NOT NULL DEFAULT 10 CHECK (uploads_per_hour BETWEEN 1 AND 10000),
    audio_retention_days integer NOT NULL DEFAULT 90 CHECK (audio_retention_days BETWEEN 1 AND 3650),
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid REFERENCES users (id) ON DELETE SET NULL
);

INSERT INTO site_settings (id) VALUES (1);

CREATE TABLE admin_audit_log (
    id bigserial PRIMARY KEY,
    actor_id uuid REFERENCES users (id) ON DELETE SET NULL,
    action text NOT NULL,
    target_type text NOT NULL,
    target_id text,
    before jsonb,
    after jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX admin_audit_log_created_idx ON admin_audit_log (created_at DESC, id DESC);

CREATE TABLE job_outbox (
    id bigserial PRIMARY KEY,
    kind text NOT NULL,
    payload jsonb NOT NULL,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'enqueued', 'running', 'done', 'failed')),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts integer NOT NULL CHECK (max_attempts >= 1),
    run_after timestamptz NOT NULL DEFAULT now(),
    lease_expires_at timestamptz,
    last_error_code text,
    created_at timestamptz NOT NULL DEFAULT now(),
    enqueued_at timestamptz,
    finished_at timestamptz
);

CREATE INDEX job_outbox_due_idx ON job_outbox (run_after, id) WHERE status = 'pending';
CREATE INDEX job_outbox_lease_idx ON job_outbox (lease_expires_at) WHERE status = 'running';
CREATE INDEX job_outbox_enqueued_idx ON job_outbox (enqueued_at) WHERE status = 'enqueued';

CREATE TABLE task_failures (
    id bigserial PRIMARY KEY,
    job_id bigint REFERENCES job_outbox (id) ON DELETE SET NULL,
    job_kind text NOT NULL,
    document_id uuid REFERENCES documents (id) ON DELETE SET NULL,
    audio_id uuid REFERENCES audios (id) ON DELETE SET NULL,
    attempt integer NOT NULL CHECK (attempt >= 1),
    final boolean NOT NULL,
    error_code text NOT NULL,
    message text NOT NULL CHECK (length(message) <= 1000),
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved', 'ignored')),
    created_at timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    resolved_by uuid REFERENCES users (id) ON DELETE SET NULL
);

CREATE INDEX task_failures_status_created_idx ON task_failures (status, created_at DESC);

CREATE TABLE notifications (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind text NOT NULL,
    payload jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    read_at timestamptz,
    emailed_at timestamptz
);

CREATE INDEX notifications_user_created_idx ON notifications (user_id, created_at DESC);

-- Documents, their pages and the audio synthesized for a page.

CREATE TABLE documents (
    id uuid PRIMARY KEY,
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 255),
    -- A placeholder title (no title given) is replaced by one found in the content.
    auto_title boolean NOT NULL DEFAULT false,
    source_kind text NOT NULL CHECK (source_kind IN ('upload', 'url', 'text')),
    source_url text,
    original_filename text,
    content_type text,
    size_bytes bigint CHECK (size_bytes IS NULL OR size_bytes >= 0),
    storage_key text,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'processing', 'ready', 'failed')),
    error_code text,
    page_count integer NOT NULL DEFAULT 0 CHECK (page_count >= 0),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    lease_expires_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz,
    CHECK (status <> 'failed' OR error_code IS NOT NULL)
);

CREATE INDEX documents_owner_created_idx ON documents (owner_id, created_at DESC, id DESC);
CREATE INDEX documents_status_created_idx ON documents (status, created_at);

CREATE TABLE pages (
    id uuid PRIMARY KEY,
    document_id uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    number integer NOT NULL CHECK (number >= 1),
    markdown text NOT NULL,
    char_count integer NOT NULL CHECK (char_count >= 0),
    audios_created integer NOT NULL DEFAULT 0 CHECK (audios_created >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (document_id, number)
);

CREATE TABLE audios (
    id uuid PRIMARY KEY,
    page_id uuid NOT NULL REFERENCES pages (id) ON DELETE CASCADE,
    document_id uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    requested_by uuid REFERENCES users (id) ON DELETE SET NULL,
    voice text NOT NULL,
    engine text NOT NULL,
    status text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'synthesizing', 'ready', 'failed')),
    lifetime_status text NOT NULL DEFAULT 'active'
        CHECK (lifetime_status IN ('active', 'deleted')),
    error_code text,
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    lease_expires_at timestamptz,
    storage_key text,
    duration_ms bigint CHECK (duration_ms IS NULL OR duration_ms >= 0),
    size_bytes bigint CHECK (size_bytes IS NULL OR size_bytes >= 0),
    char_count integer CHECK (char_count IS NULL OR char_count >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    ready_at timestamptz,
    last_played_at timestamptz,
    expires_at timestamptz,
    deleted_at timestamptz,
    CHECK (status <> 'failed' OR error_code IS NOT NULL),
    CHECK ((lifetime_status = 'deleted') = (deleted_at IS NOT NULL))
);

-- At most one live audio per page and voice, enforced under any concurrency.
CREATE UNIQUE INDEX audios_active_page_voice_key
    ON audios (page_id, voice) WHERE lifetime_status = 'active';
CREATE INDEX audios_document_id_idx ON audios (document_id);
CREATE INDEX audios_status_updated_idx ON audios (status, updated_at);
CREATE INDEX audios_expires_at_idx ON audios (expires_at) WHERE lifetime_status = 'active';

CREATE TABLE voice_previews (
    voice text PRIMARY KEY,
    engine text NOT NULL,
    storage_key text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

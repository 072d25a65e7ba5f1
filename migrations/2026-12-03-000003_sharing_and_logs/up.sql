-- Shares of a document with other people, and the log of who did what to which document.

CREATE TABLE shares (
    id uuid PRIMARY KEY,
    document_id uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    recipient_id uuid REFERENCES users (id) ON DELETE CASCADE,
    recipient_email text NOT NULL CHECK (recipient_email = lower(recipient_email)),
    permission text NOT NULL CHECK (permission IN ('view_only', 'collaborator', 'can_share')),
    status text NOT NULL CHECK (status IN ('pending', 'active')),
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    accepted_at timestamptz,
    CHECK (status = 'pending' OR recipient_id IS NOT NULL)
);

CREATE UNIQUE INDEX shares_document_email_key ON shares (document_id, recipient_email);
CREATE INDEX shares_recipient_idx ON shares (recipient_id, created_at DESC) WHERE status = 'active';
CREATE INDEX shares_pending_email_idx ON shares (recipient_email) WHERE status = 'pending';

CREATE TABLE access_log (
    id bigserial PRIMARY KEY,
    actor_id uuid REFERENCES users (id) ON DELETE SET NULL,
    -- No foreign keys: the log outlives the documents and audio it mentions.
    document_id uuid,
    audio_id uuid,
    action text NOT NULL CHECK (action IN (
        'generate', 'play', 'download', 'delete', 'share', 'unshare', 'permission_change'
    )),
    outcome text NOT NULL CHECK (outcome IN ('success', 'denied', 'failed')),
    client_addr text CHECK (client_addr IS NULL OR length(client_addr) <= 64),
    user_agent text CHECK (user_agent IS NULL OR length(user_agent) <= 256),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX access_log_document_created_idx ON access_log (document_id, created_at DESC, id DESC);
CREATE INDEX access_log_actor_created_idx ON access_log (actor_id, created_at DESC);

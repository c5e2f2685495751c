-- The registry's metadata (see shared design, storage.md). Kept to SQL that PostgreSQL reads the
-- same way except for column types: times are BIGINT Unix milliseconds, digests TEXT.

CREATE TABLE repositories (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_ms BIGINT NOT NULL
);

-- object_key decouples where storage keeps a blob from its digest.
CREATE TABLE blobs (
    digest TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    object_key TEXT NOT NULL,
    media_type TEXT,
    created_ms BIGINT NOT NULL
);

-- Which repositories may serve (and mount) a blob.
CREATE TABLE repository_blobs (
    repo_id BIGINT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    digest TEXT NOT NULL REFERENCES blobs (digest),
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (repo_id, digest)
);
CREATE INDEX repository_blobs_by_digest ON repository_blobs (digest);

CREATE TABLE manifests (
    id INTEGER PRIMARY KEY,
    repo_id BIGINT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    digest TEXT NOT NULL,
    media_type TEXT NOT NULL,
    artifact_type TEXT,
    payload BLOB NOT NULL,
    config_digest TEXT,
    subject_digest TEXT,
    total_size BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    UNIQUE (repo_id, digest)
);
CREATE INDEX manifests_by_subject ON manifests (repo_id, subject_digest);

CREATE TABLE manifest_layers (
    manifest_id BIGINT NOT NULL REFERENCES manifests (id) ON DELETE CASCADE,
    digest TEXT NOT NULL,
    PRIMARY KEY (manifest_id, digest)
);
CREATE INDEX manifest_layers_by_digest ON manifest_layers (digest);

-- Index -> platform manifests. Deleting a child is refused while a parent lists it.
CREATE TABLE manifest_references (
    parent_id BIGINT NOT NULL REFERENCES manifests (id) ON DELETE CASCADE,
    child_id BIGINT NOT NULL REFERENCES manifests (id),
    PRIMARY KEY (parent_id, child_id)
);
CREATE INDEX manifest_references_by_child ON manifest_references (child_id);

CREATE TABLE tags (
    repo_id BIGINT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    manifest_id BIGINT NOT NULL REFERENCES manifests (id) ON DELETE CASCADE,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (repo_id, name)
);
CREATE INDEX tags_by_manifest ON tags (manifest_id);

-- Uploads in progress; s3_upload_id and parts are for multipart uploads on object storage.
CREATE TABLE upload_sessions (
    uuid TEXT PRIMARY KEY,
    repo_id BIGINT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    object_key TEXT NOT NULL,
    s3_upload_id TEXT,
    parts TEXT,
    committed_offset BIGINT NOT NULL,
    hash_state BLOB NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX upload_sessions_by_expiry ON upload_sessions (expires_ms);

-- Access control: accounts (people and robots) with their roles and explicit grants,
-- organisations and their members, private repositories, refresh tokens, the token signing key,
-- and the audit log of every change to content or permissions.

-- One table for people and robots: both log in with a name and a secret (an Argon2id PHC
-- string), and the token endpoint looks both up by name.
CREATE TABLE accounts (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('user', 'robot')),
    password_hash TEXT NOT NULL,
    is_admin BOOLEAN NOT NULL DEFAULT FALSE,
    is_publisher BOOLEAN NOT NULL DEFAULT FALSE,
    created_ms BIGINT NOT NULL
);

-- Explicit grants in the access crate's text form (`amd64/*:push`, `acme/app:pull,delete`).
CREATE TABLE account_grants (
    account TEXT NOT NULL REFERENCES accounts (name) ON DELETE CASCADE,
    grant_text TEXT NOT NULL,
    PRIMARY KEY (account, grant_text)
);

CREATE TABLE organisations (
    name TEXT PRIMARY KEY,
    created_ms BIGINT NOT NULL
);

CREATE TABLE organisation_members (
    organisation TEXT NOT NULL REFERENCES organisations (name) ON DELETE CASCADE,
    account TEXT NOT NULL REFERENCES accounts (name) ON DELETE CASCADE,
    PRIMARY KEY (organisation, account)
);
CREATE INDEX organisation_members_by_account ON organisation_members (account);

-- Private repositories by name, not by id: a repository may be made private before its first
-- push, and stays private when it is emptied and pushed again.
CREATE TABLE private_repositories (
    name TEXT PRIMARY KEY,
    updated_ms BIGINT NOT NULL
);

-- Refresh tokens by their SHA-256 (never the token itself), bound to one subject and service.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    subject TEXT NOT NULL REFERENCES accounts (name) ON DELETE CASCADE,
    service TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);

-- The one ES256 key tokens are signed with: generated on first start, kept across restarts so
-- tokens and refresh flows survive them.
CREATE TABLE token_signing_keys (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    secret BLOB NOT NULL,
    created_ms BIGINT NOT NULL
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('push', 'delete', 'tag-move', 'permission-change')),
    repository TEXT,
    reference TEXT,
    digest TEXT,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_by_repository ON audit_log (repository, id);

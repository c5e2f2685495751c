-- What Hub-like answers show about a repository beside its content: a description, how often
-- it was pulled, who starred it, and the trust tier an admin gave its organisation.

-- Pulls are added in batches by the registry (see registry's pull counter), so this column is
-- written once per interval per repository, not once per pull.
ALTER TABLE repositories ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE repositories ADD COLUMN pull_count BIGINT NOT NULL DEFAULT 0;

-- A user starring a repository. Users are named rather than referenced: accounts live with
-- access control, and a star outlives nothing but its repository.
CREATE TABLE repository_stars (
    user_name TEXT NOT NULL,
    repo_id BIGINT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (user_name, repo_id)
);
CREATE INDEX repository_stars_by_repository ON repository_stars (repo_id);

-- The tier an admin set on an organisation (a namespace); official is library/'s alone and
-- community is the default, so neither is stored.
CREATE TABLE organisation_tiers (
    namespace TEXT PRIMARY KEY,
    tier TEXT NOT NULL CHECK (tier IN ('verified-publisher', 'sponsored-oss')),
    updated_ms BIGINT NOT NULL
);

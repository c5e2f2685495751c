-- Continuous monitoring: advisory data as imported, the inventory of every scanned image, the
-- findings each image had at its last match, and an outbox of the changes between matches.

-- One row per import source (`pypi`, `debian-tracker`): a new import of a source replaces its
-- records, so a record missing from the newer data is gone.
CREATE TABLE advisory_sources (
    name TEXT PRIMARY KEY,
    imported_ms BIGINT NOT NULL,
    record_count BIGINT NOT NULL
);

-- Each record in OSV JSON, as the importer read it; `modified` is the record's own date.
CREATE TABLE advisories (
    source TEXT NOT NULL REFERENCES advisory_sources (name) ON DELETE CASCADE,
    id TEXT NOT NULL,
    modified TEXT,
    imported_ms BIGINT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (source, id)
);

-- Scanned images by manifest digest. They are keyed apart from `manifests`: an image scanned
-- from another registry or an archive is monitored too.
CREATE TABLE scanned_images (
    digest TEXT PRIMARY KEY,
    scanned_ms BIGINT NOT NULL,
    analyzer_version BIGINT NOT NULL,
    inventory TEXT NOT NULL
);

-- The findings of each image's last match, apart from the inventory: a re-match rewrites
-- these rows, and a row holding the inventory too would be rewritten whole.
CREATE TABLE image_findings (
    digest TEXT PRIMARY KEY REFERENCES scanned_images (digest) ON DELETE CASCADE,
    findings TEXT NOT NULL,
    matched_ms BIGINT NOT NULL
);

-- The references a scan was asked for (`library/debian:12`); tags in this registry that point
-- at the image are found through `tags` when reading.
CREATE TABLE scanned_image_references (
    digest TEXT NOT NULL REFERENCES scanned_images (digest) ON DELETE CASCADE,
    reference TEXT NOT NULL,
    PRIMARY KEY (digest, reference)
);

-- The outbox: readers keep the last id they handled and ask for what came after it.
CREATE TABLE change_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms BIGINT NOT NULL,
    image TEXT NOT NULL,
    tag TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('new', 'fixed', 'withdrawn')),
    advisory TEXT NOT NULL,
    package TEXT NOT NULL
);

-- Garbage collection asks, for every candidate blob, whether any manifest in any repository
-- still names it as its config or as itself (a manifest pushed as a blob too). Without these
-- indexes each question would scan every manifest.
CREATE INDEX manifests_by_config ON manifests (config_digest);
CREATE INDEX manifests_by_digest ON manifests (digest);

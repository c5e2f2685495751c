//! End-to-end tests of the `hallmark` binary.

mod attest_cmds;
mod attest_interop;
mod auth_clients;
mod build_e2e;
mod build_plan;
mod crash_recovery;
mod db_cmd;
// The git fixture is shared with the build crate's tests; not every helper is used here.
#[allow(dead_code)]
#[path = "../../../build/tests/it/fixture.rs"]
mod fixture;
mod graph;
mod json_answers;
mod lint_docs;
mod list_cat;
mod publish_shared_tags;
mod registry_clients;
mod scan_cmd;
mod search_clients;
mod server;
mod store_cmds;
mod tls_clients;

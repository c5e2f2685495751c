//! End-to-end tests of the `hallmark` binary.

mod attest_cmds;
mod attest_interop;
mod auth_clients;
mod build_plan;
mod build_e2e;
mod crash_recovery;
mod db_cmd;
mod graph;
mod lint_docs;
mod list_cat;
mod registry_clients;
mod search_clients;
mod server;
mod scan_cmd;
mod store_cmds;

//! End-to-end tests of the `hallmark` binary.

mod graph;
mod lint_docs;
mod list_cat;

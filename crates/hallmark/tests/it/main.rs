//! End-to-end tests of the `hallmark` binary.

mod list_cat;
mod lint_docs;

//! The access crate's integration tests: the authorisation matrix, token round trips and
//! attacks, and property tests of the parsers.

mod matrix;
mod properties;
mod tokens;

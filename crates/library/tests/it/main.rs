//! Integration tests of the library crate against the real official-images library files.

mod bad_input;
mod properties;
mod real_files;

use std::path::PathBuf;

/// The real library folder shipped beside the repository in `shared/testdata`.
pub fn real_library_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/official-images-library")
}

//! The vocabulary every other Hallmark crate speaks: the architectures of the Official Images
//! program and the OCI platforms they stand for, and image references as they appear in
//! Dockerfiles and on the command line.
//!
//! This crate does no I/O and holds no policy; it only names things and checks that names are
//! well formed, so that every crate above agrees on what `debian:bookworm` or `arm32v7` means.

#![deny(missing_docs)]

mod digest;
mod error_code;
pub mod manifest;
mod platform;
mod reference;
mod tier;

pub use digest::{Digest, DigestAlgorithm, DigestError, DigestWriter, Hasher};
pub use error_code::ErrorCode;
pub use platform::{Architecture, Platform, UnknownArchitecture};
pub use reference::{
    is_valid_path_component, is_valid_tag, ImageReference, ReferenceError, TagExpected,
    DEFAULT_DOMAIN, OFFICIAL_NAMESPACE,
};
pub use tier::{OrganisationTier, TrustTier, UnknownTier};

//! Signed attestations and signatures for images, and their verification, as pure data: no
//! network, no registry, no clock of its own beyond what callers pass.
//!
//! - [`dsse`]: DSSE envelopes over exact payload bytes, ECDSA P-256 SHA-256 signatures.
//! - [`statement`] and [`provenance`]: in-toto Statement v1 and SLSA Provenance v1, the latter
//!   made from a `library::Entry` so provenance always says what the definition says.
//! - [`keys`], cosign key import, and [`keyset`]: PEM keys, key ids, and trusted keys with
//!   validity windows and distrust.
//! - [`predicate`]: the kinds `hallmark attest --type` wraps (SLSA provenance, SPDX, CycloneDX).
//! - [`cosign`]: cosign's simple-signing payload, its legacy `.sig` tag, and the Sigstore
//!   bundle v0.3, so `cosign verify --key` accepts what Hallmark signs.
//! - [`attach`]: where all of it lives in a registry: BuildKit's attestation manifests in the
//!   image index, OCI 1.1 referrers, and cosign's `.sig` tag, as manifests and blobs to push.
//! - [`policy`] and [`verify`]: a Notation-style trust policy scoped by repository, and a
//!   verification that records every check and fails with a typed reason.
//!
//! Signed bytes are produced once and kept: payloads are never re-serialised before a
//! signature is checked, only parsed after.

#![deny(missing_docs)]

pub mod attach;
pub mod cosign;
mod cosign_key;
pub mod dsse;
mod encoding;
pub mod keys;
pub mod keyset;
pub mod policy;
pub mod predicate;
pub mod provenance;
pub mod statement;
mod time;
pub mod verify;

pub use keys::{KeyError, PrivateKey, PublicKey};
pub use time::{Timestamp, TimestampError};

//! Building Official Images from their library entries.
//!
//! The flow, one module each: [`source::GitCache`] fetches every entry's GitCommit into one
//! bare git repository (and answers FROM-graph questions for the pure `library` crate through
//! [`library::FromsResolver`]); [`identity`] names each build by a digest over everything it
//! is made of; [`plan`] decides, per architecture and in build order, what needs building and
//! why; an [`engine::Engine`] builds one entry for one architecture into an OCI image layout
//! ([`native`] is Hallmark's own reproducible builder); [`records`] remembers which identity
//! produced which image.

#![deny(missing_docs)]

pub mod archive;
pub mod clock;
pub mod docker;
pub mod engine;
pub mod identity;
pub mod logs;
pub mod native;
pub mod parents;
pub mod plan;
pub mod publish;
pub mod push;
pub mod records;
pub mod run;
pub mod source;
pub mod twice;

//! Building Official Images from their library entries.
//!
//! This crate will own the whole build: fetching each architecture's sources at its
//! GitCommit, running them through an engine, and pushing the results. Today it holds the
//! first step, [`source::GitCache`]: a bare git repository that fetches every entry's commit
//! once and reads its Dockerfile without a worktree, which also lets the pure `library` crate
//! answer FROM-graph questions through [`library::FromsResolver`].

#![deny(missing_docs)]

pub mod source;

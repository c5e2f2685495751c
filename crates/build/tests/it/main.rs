//! Integration tests of the `build` crate against real git repositories in temporary folders,
//! reached through `file://` URLs so that no test needs the network.

mod docker_engine;
mod fixture;
mod git_cache;
mod graph;
mod hallmark_registry;
mod native;
mod native_interop;
mod parent_layers;
mod plan;
mod private_parent;
mod publish_race;

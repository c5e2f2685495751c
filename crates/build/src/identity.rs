//! A build's identity: one digest over everything that decides what the build produces.
//!
//! Two builds with the same identity are the same build, so an image needs building exactly
//! when no build of its identity has succeeded yet. The inputs are the git tree of
//! `GitCommit:Directory` (the build context's exact content, so a commit that touches nothing
//! in the directory keeps the identity), the Dockerfile's blob and name, the `Builder`, the
//! engine, the architecture, and every parent in FROM order.
//!
//! A parent that the library builds contributes its own *identity*, not the digest of the
//! image it produced: the identity is known before anything is built, so a whole plan
//! (parents and children) is computed up front and a child planned today has the same
//! identity when it is built after its parent. It loses nothing: a parent's identity changes
//! whenever anything the parent is made of changes, its own parents' digests included, and
//! the build record maps it to the exact digest the child is pinned to. A parent from outside
//! the library contributes the digest its registry serves for the architecture.

use std::fmt;

use oci::{Architecture, Digest, DigestAlgorithm};
use serde::{Deserialize, Serialize};

use crate::engine::EngineKind;

/// The version line that starts the encoding; change it when the encoding changes, so that
/// every identity changes with it.
const ENCODING_VERSION: &str = "hallmark build identity v1";

/// The digest naming one build (`sha256:…`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BuildIdentity(pub Digest);

impl fmt::Display for BuildIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What a parent contributes to its child's identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "value")]
pub enum ParentPin {
    /// A library parent: the identity of the build of it for the same architecture.
    Build(BuildIdentity),
    /// An image from outside the library: its manifest digest for the architecture.
    Digest(Digest),
}

/// One FROM as an identity input.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ParentInput {
    /// The image as the Dockerfile names it, normalised and printed as the docker CLI does
    /// (`debian:12` for `docker.io/library/debian:12`).
    pub image: String,
    /// What it resolved to.
    pub pin: ParentPin,
}

/// Everything a build's identity is made of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityInputs {
    /// The git tree id of `GitCommit:Directory`.
    pub tree: String,
    /// The git blob id of the Dockerfile (`Directory/File`), which may lie outside the tree.
    pub dockerfile: String,
    /// The entry's `File`.
    pub file: String,
    /// The entry's `Builder`.
    pub builder: String,
    /// The engine that builds it.
    pub engine: EngineKind,
    /// The architecture built for.
    #[serde(deserialize_with = "deserialize_architecture")]
    pub arch: Architecture,
    /// The parents, in FROM order.
    pub parents: Vec<ParentInput>,
}

impl IdentityInputs {
    /// The identity: SHA-256 over [`IdentityInputs::canonical`].
    pub fn identity(&self) -> BuildIdentity {
        BuildIdentity(Digest::of(
            DigestAlgorithm::Sha256,
            self.canonical().as_bytes(),
        ))
    }

    /// The canonical encoding: one `name length:value` line per input, so that no value can
    /// pose as another field whatever characters it holds.
    pub fn canonical(&self) -> String {
        let mut fields = vec![
            ("tree", self.tree.clone()),
            ("dockerfile", self.dockerfile.clone()),
            ("file", self.file.clone()),
            ("builder", self.builder.clone()),
            ("engine", self.engine.as_str().to_owned()),
            ("arch", self.arch.as_str().to_owned()),
        ];
        for parent in &self.parents {
            fields.push(("parent", parent.image.clone()));
            let pin = match &parent.pin {
                ParentPin::Build(identity) => format!("build {identity}"),
                ParentPin::Digest(digest) => format!("digest {digest}"),
            };
            fields.push(("pin", pin));
        }
        let mut text = format!("{ENCODING_VERSION}\n");
        for (name, value) in fields {
            text.push_str(&format!("{name} {}:{value}\n", value.len()));
        }
        text
    }
}

/// Reads an architecture by its name (`oci` gives architectures no `Deserialize`).
pub(crate) fn deserialize_architecture<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Architecture, D::Error> {
    let name = String::deserialize(deserializer)?;
    name.parse().map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> IdentityInputs {
        IdentityInputs {
            tree: "4b825dc642cb6eb9a060e54bf8d69288fbee4904".into(),
            dockerfile: "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391".into(),
            file: "Dockerfile".into(),
            builder: String::new(),
            engine: EngineKind::Native,
            arch: Architecture::Amd64,
            parents: vec![ParentInput {
                image: "docker.io/library/debian:12".into(),
                pin: ParentPin::Digest(Digest::of(DigestAlgorithm::Sha256, b"debian")),
            }],
        }
    }

    #[test]
    fn every_input_changes_the_identity() {
        let base = inputs().identity();
        let changes: [fn(&mut IdentityInputs); 8] = [
            |i| i.tree.replace_range(..1, "5"),
            |i| i.dockerfile.replace_range(..1, "f"),
            |i| i.file = "Dockerfile.slim".into(),
            |i| i.builder = "buildkit".into(),
            |i| i.engine = EngineKind::Docker,
            |i| i.arch = Architecture::Arm64v8,
            |i| {
                i.parents[0].pin = ParentPin::Build(BuildIdentity(Digest::of(
                    DigestAlgorithm::Sha256,
                    b"debian",
                )))
            },
            |i| i.parents.clear(),
        ];
        for (index, change) in changes.iter().enumerate() {
            let mut changed = inputs();
            change(&mut changed);
            assert_ne!(changed.identity(), base, "change {index}");
        }
        assert_eq!(inputs().identity(), base);
    }

    #[test]
    fn values_cannot_pose_as_other_fields() {
        let mut a = inputs();
        a.file = "Dockerfile\nbuilder 8:buildkit".into();
        let mut b = inputs();
        b.builder = "buildkit".into();
        assert_ne!(a.identity(), b.identity());
    }
}

//! Verification policy, modelled on Notation's trust policy: policies scoped by repository,
//! each with a level that says which failures block and which are only recorded, plus what
//! provenance must say and the lowest trust tier accepted.
//!
//! ```toml
//! [[policy]]
//! name = "official"
//! scopes = ["library/*"]
//! level = "strict"            # strict | permissive | audit
//! source-repository = "https://github.com/docker-library/python"
//! builder-id = "https://hallmark.example/builders/official"
//! minimum-tier = "official"
//! ```

use serde::{Deserialize, Serialize};

/// How strictly a policy enforces each kind of check (Notation's verification levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Every check blocks.
    Strict,
    /// Integrity, authenticity, provenance and tier block; key expiry and distrust are only
    /// recorded.
    Permissive,
    /// Only integrity blocks (a signature or claim that is present but wrong); everything else
    /// is recorded.
    Audit,
}

/// What a check establishes, which decides whether a level enforces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// The signed bytes are unchanged and say what they are checked against.
    Integrity,
    /// A trusted key signed them.
    Authenticity,
    /// The key was valid when it signed (window and distrust; Notation's expiry and
    /// revocation).
    KeyValidity,
    /// Provenance names the expected source and builder.
    Provenance,
    /// The repository's trust tier.
    Tier,
}

impl Level {
    /// Whether a failure of `category` blocks at this level.
    pub fn enforces(self, category: Category) -> bool {
        match self {
            Level::Strict => true,
            Level::Permissive => category != Category::KeyValidity,
            Level::Audit => category == Category::Integrity,
        }
    }
}

/// One policy.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TrustPolicy {
    /// Its name, shown in reports.
    pub name: String,
    /// Repository patterns: a stored name (`library/python`), a namespace prefix
    /// (`library/*`), or `*` for every repository.
    pub scopes: Vec<String>,
    /// How strictly it enforces.
    pub level: Level,
    /// The source repository provenance must name (`GitRepo`), compared without a trailing
    /// `/` or `.git`.
    #[serde(default)]
    pub source_repository: Option<String>,
    /// The commit provenance must name.
    #[serde(default)]
    pub commit: Option<String>,
    /// The builder id provenance must name.
    #[serde(default)]
    pub builder_id: Option<String>,
    /// The least trusted tier accepted.
    #[serde(default)]
    pub minimum_tier: Option<oci::TrustTier>,
}

impl TrustPolicy {
    /// The policy used when none is given: signatures are checked strictly, nothing else is
    /// required.
    pub fn signatures_only() -> Self {
        Self {
            name: "(signatures only)".to_owned(),
            scopes: vec!["*".to_owned()],
            level: Level::Strict,
            source_repository: None,
            commit: None,
            builder_id: None,
            minimum_tier: None,
        }
    }

    /// Whether the policy asks anything of provenance.
    pub fn requires_provenance(&self) -> bool {
        self.source_repository.is_some() || self.commit.is_some() || self.builder_id.is_some()
    }
}

/// A policy file: policies whose scopes do not overlap exactly.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    policies: Vec<TrustPolicy>,
}

/// Why a policy file was refused.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Not TOML of the expected shape.
    #[error("policy file: {0}")]
    Toml(#[from] toml::de::Error),
    /// A scope that is not `*`, a repository name, or `namespace/*`.
    #[error("policy {policy:?}: scope {scope:?} is not `*`, a repository name or `namespace/*`")]
    Scope {
        /// The policy.
        policy: String,
        /// The scope.
        scope: String,
    },
    /// Two policies claim the same scope, so which applies would be a guess.
    #[error("scope {0:?} appears in more than one policy; give each scope to one policy")]
    DuplicateScope(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    policy: Vec<TrustPolicy>,
}

impl PolicySet {
    /// Reads a policy file.
    pub fn from_toml(text: &str) -> Result<Self, PolicyError> {
        let file: File = toml::from_str(text)?;
        let mut seen: Vec<&str> = Vec::new();
        for policy in &file.policy {
            for scope in &policy.scopes {
                let name = scope.strip_suffix("/*").unwrap_or(scope);
                let well_formed = scope == "*"
                    || (!name.is_empty() && name.split('/').all(oci::is_valid_path_component));
                if !well_formed {
                    return Err(PolicyError::Scope {
                        policy: policy.name.clone(),
                        scope: scope.clone(),
                    });
                }
                if seen.contains(&scope.as_str()) {
                    return Err(PolicyError::DuplicateScope(scope.clone()));
                }
                seen.push(scope);
            }
        }
        Ok(Self {
            policies: file.policy,
        })
    }

    /// The policy for `repository` (stored form, `library/python`): an exact scope wins, then
    /// the longest `namespace/*` prefix, then `*`.
    pub fn for_repository(&self, repository: &str) -> Option<&TrustPolicy> {
        let specificity = |scope: &str| -> Option<usize> {
            if scope == repository {
                Some(usize::MAX)
            } else if scope == "*" {
                Some(0)
            } else {
                let prefix = scope.strip_suffix('*')?;
                repository.starts_with(prefix).then_some(prefix.len())
            }
        };
        self.policies
            .iter()
            .flat_map(|policy| {
                policy
                    .scopes
                    .iter()
                    .filter_map(move |scope| Some((specificity(scope)?, policy)))
            })
            .max_by_key(|(rank, _)| *rank)
            .map(|(_, policy)| policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[[policy]]
name = "everything"
scopes = ["*"]
level = "audit"

[[policy]]
name = "official"
scopes = ["library/*"]
level = "strict"
minimum-tier = "official"

[[policy]]
name = "python"
scopes = ["library/python", "acme/tools/*"]
level = "permissive"
source-repository = "https://github.com/docker-library/python"
"#;

    #[test]
    fn the_most_specific_scope_wins() {
        let set = PolicySet::from_toml(FILE).unwrap();
        for (repository, expected) in [
            ("library/python", "python"),
            ("library/debian", "official"),
            ("acme/tools/cli", "python"),
            ("acme/app", "everything"),
            ("libraryx/python", "everything"),
        ] {
            assert_eq!(
                set.for_repository(repository).unwrap().name,
                expected,
                "{repository}"
            );
        }
        assert!(PolicySet::default()
            .for_repository("library/python")
            .is_none());
    }

    #[test]
    fn levels_enforce_like_notation() {
        use Category::*;
        let table = [
            (Level::Strict, [true, true, true, true, true]),
            (Level::Permissive, [true, true, false, true, true]),
            (Level::Audit, [true, false, false, false, false]),
        ];
        for (level, expected) in table {
            let actual =
                [Integrity, Authenticity, KeyValidity, Provenance, Tier].map(|c| level.enforces(c));
            assert_eq!(actual, expected, "{level:?}");
        }
    }

    #[test]
    fn bad_policy_files_are_refused() {
        for (text, expected) in [
            (
                "[[policy]]\nname='a'\nscopes=['library/']\nlevel='strict'",
                "scope",
            ),
            (
                "[[policy]]\nname='a'\nscopes=['*', '*']\nlevel='strict'",
                "more than one",
            ),
            (
                "[[policy]]\nname='a'\nscopes=['*']\nlevel='lenient'",
                "lenient",
            ),
            (
                "[[policy]]\nname='a'\nscopes=['*']\nlevel='audit'\nminimum-tier='gold'",
                "gold",
            ),
        ] {
            let error = PolicySet::from_toml(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{error}");
        }
    }
}

//! The authorisation policy: which principal may do what to which repository, as pure functions
//! of the principal, the repository's name and what the store knows about it.
//!
//! | namespace | pull | push | delete |
//! |---|---|---|---|
//! | `library/` | public, or writers | the publisher role | writers with a delete grant |
//! | `<arch>/` (`amd64/`, `arm64v8/`, …) | public, or writers | robots with a push grant there (that architecture's build agent) | writers with a delete grant |
//! | `<org>/` | public, or writers, or a pull grant | members, or a push grant | writers with a delete grant |
//! | a name without `/` | public | nobody | nobody |
//!
//! Admins may do everything everywhere. A private repository is pulled only by those who may
//! write it or hold a pull grant. A cross-repository mount needs push on the target and pull on
//! the source.

use std::collections::BTreeSet;
use std::str::FromStr;

use oci::{Architecture, OFFICIAL_NAMESPACE};

use crate::principal::{AccountKind, Principal, Role};
use crate::scope::{merge_scope, Action, ResourceType, Scope};

/// The namespace a repository lives in, which decides who may write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Namespace<'a> {
    /// `library/`: the Official Images.
    Library,
    /// `<arch>/`: one architecture's builds, e.g. `arm64v8/`.
    Architecture(Architecture),
    /// `<org>/`: an organisation's (or, unclaimed, nobody's) repositories.
    Organization(&'a str),
    /// A name without a `/`, outside every namespace.
    TopLevel,
}

impl<'a> Namespace<'a> {
    /// The namespace of `repository`, from its first path component.
    pub fn of(repository: &'a str) -> Self {
        let Some((first, _)) = repository.split_once('/') else {
            return Self::TopLevel;
        };
        if first == OFFICIAL_NAMESPACE {
            return Self::Library;
        }
        Architecture::from_str(first).map_or(Self::Organization(first), Self::Architecture)
    }
}

/// Whether an organisation may be called `name`: not `library` nor an architecture, whose
/// namespaces have rules of their own.
pub fn is_reserved_namespace(name: &str) -> bool {
    name == OFFICIAL_NAMESPACE || Architecture::from_str(name).is_ok()
}

/// Who may pull a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Visibility {
    /// Anyone, without credentials.
    Public,
    /// Only those who may write it or hold a pull grant.
    Private,
}

/// What the policy needs to know about repositories beyond their names; the registry answers
/// from its store. A repository that does not exist yet is public.
pub trait RepositoryFacts {
    /// The visibility of `repository`.
    fn visibility(&self, repository: &str) -> Visibility;
}

impl<F: Fn(&str) -> Visibility> RepositoryFacts for F {
    fn visibility(&self, repository: &str) -> Visibility {
        self(repository)
    }
}

/// Whether `principal` may do `action` (pull, push or delete) on `repository`. `*` and unknown
/// actions are never allowed as such: ask for the actions themselves.
pub fn is_allowed(
    principal: &Principal,
    facts: &dyn RepositoryFacts,
    repository: &str,
    action: &Action,
) -> bool {
    match action {
        Action::Pull => may_pull(principal, facts, repository),
        Action::Push => may_write(principal, repository),
        Action::Delete => may_delete(principal, repository),
        Action::All | Action::Other(_) => false,
    }
}

/// Whether `principal` may mount a blob of `source` into `target`: push on the target, and pull on
/// the source, so a mount never reveals content the caller could not have pulled.
pub fn may_mount(
    principal: &Principal,
    facts: &dyn RepositoryFacts,
    source: &str,
    target: &str,
) -> bool {
    may_write(principal, target) && may_pull(principal, facts, source)
}

/// The part of `requested` that `principal` holds: for each requested resource, the requested
/// actions that are allowed, `*` standing for pull, push and delete. Never more than asked;
/// resources with nothing allowed are left out, and the class of `repository(plugin)` is dropped
/// as distribution asks. `registry:catalog:*` is for admins only, since the catalog names private
/// repositories too.
pub fn grant(
    principal: &Principal,
    facts: &dyn RepositoryFacts,
    requested: &[Scope],
) -> Vec<Scope> {
    let mut granted = Vec::new();
    for scope in requested {
        let actions = match scope.resource_type() {
            ResourceType::Repository => granted_repository_actions(principal, facts, scope),
            ResourceType::Registry if scope.name() == "catalog" => {
                granted_catalog_actions(principal, scope)
            }
            ResourceType::Registry | ResourceType::Other(_) => BTreeSet::new(),
        };
        if !actions.is_empty() {
            let resource_type = scope.resource_type().clone();
            let allowed = Scope::unchecked(resource_type, None, scope.name(), actions);
            merge_scope(&mut granted, allowed);
        }
    }
    granted
}

fn granted_repository_actions(
    principal: &Principal,
    facts: &dyn RepositoryFacts,
    scope: &Scope,
) -> BTreeSet<Action> {
    let mut wanted = scope.actions().clone();
    if wanted.remove(&Action::All) {
        wanted.extend([Action::Pull, Action::Push, Action::Delete]);
    }
    wanted
        .into_iter()
        .filter(|action| is_allowed(principal, facts, scope.name(), action))
        .collect()
}

fn granted_catalog_actions(principal: &Principal, scope: &Scope) -> BTreeSet<Action> {
    let asked = scope.actions().contains(&Action::All);
    if asked && principal.has_role(Role::Admin) {
        BTreeSet::from([Action::All])
    } else {
        BTreeSet::new()
    }
}

fn may_pull(principal: &Principal, facts: &dyn RepositoryFacts, repository: &str) -> bool {
    facts.visibility(repository) == Visibility::Public
        || may_write(principal, repository)
        || principal.has_grant(repository, &Action::Pull)
}

fn may_write(principal: &Principal, repository: &str) -> bool {
    if principal.has_role(Role::Admin) {
        return true;
    }
    match Namespace::of(repository) {
        Namespace::Library => principal.has_role(Role::Publisher),
        // The architecture's agent is a robot granted push there; a person's grant does not
        // reach these namespaces, so only the build pipeline writes them.
        Namespace::Architecture(_) => {
            principal.kind() == AccountKind::Robot && principal.has_grant(repository, &Action::Push)
        }
        Namespace::Organization(organization) => {
            principal.is_member_of(organization) || principal.has_grant(repository, &Action::Push)
        }
        Namespace::TopLevel => false,
    }
}

fn may_delete(principal: &Principal, repository: &str) -> bool {
    // Deleting needs a grant of its own on top of write access: pushing rights alone never
    // destroy what others pull.
    principal.has_role(Role::Admin)
        || (may_write(principal, repository) && principal.has_grant(repository, &Action::Delete))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::parse_scopes;

    fn all_public(_: &str) -> Visibility {
        Visibility::Public
    }

    fn granted(principal: &Principal, requested: &str) -> String {
        let requested = parse_scopes([requested]).unwrap();
        crate::scope::format_scopes(&grant(principal, &all_public, &requested))
    }

    #[test]
    fn namespaces_come_from_the_first_component() {
        assert_eq!(Namespace::of("library/python"), Namespace::Library);
        assert_eq!(
            Namespace::of("windows-amd64/python"),
            Namespace::Architecture(Architecture::WindowsAmd64)
        );
        assert_eq!(
            Namespace::of("acme/team/app"),
            Namespace::Organization("acme")
        );
        assert_eq!(Namespace::of("python"), Namespace::TopLevel);
        assert_eq!(
            Namespace::of("localhost:5000/library/python"),
            Namespace::Organization("localhost:5000")
        );
        assert!(is_reserved_namespace("library") && is_reserved_namespace("s390x"));
        assert!(!is_reserved_namespace("acme"));
    }

    #[test]
    fn a_grant_never_exceeds_the_request() {
        let member = Principal::user("bob").member_of("acme");
        for (requested, expected) in [
            ("repository:acme/app:pull", "repository:acme/app:pull"),
            (
                "repository:acme/app:pull,push,delete",
                "repository:acme/app:pull,push",
            ),
            ("repository:acme/app:*", "repository:acme/app:pull,push"),
            (
                "repository(plugin):acme/app:push",
                "repository:acme/app:push",
            ),
            ("repository:acme/app:frobnicate", ""),
            (
                "repository:library/python:pull,push",
                "repository:library/python:pull",
            ),
            ("registry:catalog:*", ""),
            ("widget:acme/app:pull", ""),
            (
                "repository:acme/app:pull repository:amd64/app:push repository:acme/app:push",
                "repository:acme/app:pull,push",
            ),
        ] {
            assert_eq!(granted(&member, requested), expected, "{requested}");
        }
    }

    #[test]
    fn the_catalog_is_for_admins() {
        let admin = Principal::user("root").with_role(Role::Admin);
        assert_eq!(granted(&admin, "registry:catalog:*"), "registry:catalog:*");
        assert_eq!(granted(&admin, "registry:catalog:pull"), "");
        assert_eq!(granted(&admin, "registry:other:*"), "");
        assert_eq!(
            granted(&admin, "repository:acme/app:*"),
            "repository:acme/app:pull,push,delete"
        );
    }

    #[test]
    fn explicit_grants_add_delete_and_private_pull_but_not_official_push() {
        let private = |name: &str| {
            if name == "acme/secret" {
                Visibility::Private
            } else {
                Visibility::Public
            }
        };
        let ci = Principal::robot(
            "ci",
            [
                "acme/*:pull,push,delete".parse().unwrap(),
                "library/*:push".parse().unwrap(),
            ],
        );
        assert!(is_allowed(&ci, &private, "acme/secret", &Action::Pull));
        assert!(is_allowed(&ci, &private, "acme/app", &Action::Delete));
        assert!(!is_allowed(&ci, &private, "library/python", &Action::Push));
        let reader = Principal::user("carol").with_grant("acme/secret:pull".parse().unwrap());
        assert!(is_allowed(&reader, &private, "acme/secret", &Action::Pull));
        assert!(!is_allowed(&reader, &private, "acme/secret", &Action::Push));
        let member = Principal::user("bob").member_of("acme");
        let deleter = member
            .clone()
            .with_grant("acme/app:delete".parse().unwrap());
        assert!(!is_allowed(&member, &private, "acme/app", &Action::Delete));
        assert!(is_allowed(&deleter, &private, "acme/app", &Action::Delete));
        // A delete grant outside what the principal may write deletes nothing.
        let stray = Principal::user("dave").with_grant("acme/app:delete".parse().unwrap());
        assert!(!is_allowed(&stray, &private, "acme/app", &Action::Delete));
    }

    #[test]
    fn people_cannot_write_architecture_namespaces_even_with_a_grant() {
        let person = Principal::user("eve").with_grant("amd64/*:push".parse().unwrap());
        assert!(!is_allowed(
            &person,
            &all_public,
            "amd64/python",
            &Action::Push
        ));
        let top_level = Principal::user("bob").member_of("python");
        assert!(!is_allowed(
            &top_level,
            &all_public,
            "python",
            &Action::Push
        ));
    }
}

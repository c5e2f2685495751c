//! Who is asking: the principals the authorisation policy decides for, with their roles,
//! organisation memberships and explicit grants.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use oci::Architecture;

use crate::scope::{is_valid_path, Action};

/// What kind of account a principal is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountKind {
    /// No credentials were presented.
    Anonymous,
    /// A person's account.
    User,
    /// A machine account (build agent, CI) that acts through explicit grants.
    Robot,
}

/// A program-wide role an admin gives an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// May do anything, and implicitly holds every grant.
    Admin,
    /// The Official Images program's publisher: may push `library/*`.
    Publisher,
}

/// Which repositories a grant covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RepositoryPattern {
    /// Exactly one repository, e.g. `acme/app`.
    Exact(String),
    /// Every repository under a prefix, written `amd64/*`.
    Under(String),
}

impl RepositoryPattern {
    /// Whether `repository` is covered.
    pub fn covers(&self, repository: &str) -> bool {
        match self {
            Self::Exact(name) => repository == name,
            Self::Under(prefix) => repository
                .strip_prefix(prefix.as_str())
                .is_some_and(|rest| rest.starts_with('/') && rest.len() > 1),
        }
    }
}

impl fmt::Display for RepositoryPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(name) => f.write_str(name),
            Self::Under(prefix) => write!(f, "{prefix}/*"),
        }
    }
}

/// An explicit permission to do `actions` on the repositories `pattern` covers, as robots hold
/// them. Written `amd64/*:push` or `acme/app:pull,push,delete`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Grant {
    /// The repositories covered.
    pub pattern: RepositoryPattern,
    /// The actions allowed on them (`*` stands for every action).
    pub actions: BTreeSet<Action>,
}

impl Grant {
    /// Whether this grant allows `action` on `repository`.
    pub fn allows(&self, repository: &str, action: &Action) -> bool {
        self.pattern.covers(repository)
            && (self.actions.contains(action) || self.actions.contains(&Action::All))
    }
}

/// A grant that is not `name:actions` or `prefix/*:actions`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("grant {0:?} should look like amd64/*:push or acme/app:pull,push,delete")]
pub struct InvalidGrant(pub String);

impl FromStr for Grant {
    type Err = InvalidGrant;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidGrant(text.to_owned());
        let (pattern, actions) = text.rsplit_once(':').ok_or_else(invalid)?;
        let pattern = match pattern.strip_suffix("/*") {
            Some(prefix) if is_valid_path(prefix) => RepositoryPattern::Under(prefix.to_owned()),
            None if is_valid_path(pattern) => RepositoryPattern::Exact(pattern.to_owned()),
            _ => return Err(invalid()),
        };
        let actions = actions
            .split(',')
            .map(|action| Action::parse(action).filter(|a| !matches!(a, Action::Other(_))))
            .collect::<Option<BTreeSet<_>>>()
            .ok_or_else(invalid)?;
        Ok(Self { pattern, actions })
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let actions: Vec<&str> = self.actions.iter().map(Action::as_str).collect();
        write!(f, "{}:{}", self.pattern, actions.join(","))
    }
}

/// The account a request acts for, with everything the policy needs to know about it.
///
/// An anonymous principal holds no roles, memberships or grants: the builder methods leave it
/// unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    kind: AccountKind,
    name: String,
    roles: BTreeSet<Role>,
    organizations: BTreeSet<String>,
    grants: Vec<Grant>,
}

impl Principal {
    /// A client without credentials.
    pub fn anonymous() -> Self {
        Self::new(AccountKind::Anonymous, "")
    }

    /// A person's account.
    pub fn user(name: &str) -> Self {
        Self::new(AccountKind::User, name)
    }

    /// A machine account acting through `grants`.
    pub fn robot(name: &str, grants: impl IntoIterator<Item = Grant>) -> Self {
        let mut robot = Self::new(AccountKind::Robot, name);
        robot.grants.extend(grants);
        robot
    }

    /// The build agent for one architecture: a robot whose only grant is push to `<arch>/*`.
    pub fn architecture_agent(name: &str, architecture: Architecture) -> Self {
        let grant = Grant {
            pattern: RepositoryPattern::Under(architecture.as_str().to_owned()),
            actions: BTreeSet::from([Action::Push]),
        };
        Self::robot(name, [grant])
    }

    fn new(kind: AccountKind, name: &str) -> Self {
        Self {
            kind,
            name: name.to_owned(),
            roles: BTreeSet::new(),
            organizations: BTreeSet::new(),
            grants: Vec::new(),
        }
    }

    /// The same principal with `role`.
    pub fn with_role(mut self, role: Role) -> Self {
        if self.is_authenticated() {
            self.roles.insert(role);
        }
        self
    }

    /// The same principal as a member of `organization`.
    pub fn member_of(mut self, organization: &str) -> Self {
        if self.is_authenticated() {
            self.organizations.insert(organization.to_owned());
        }
        self
    }

    /// The same principal with one more explicit grant.
    pub fn with_grant(mut self, grant: Grant) -> Self {
        if self.is_authenticated() {
            self.grants.push(grant);
        }
        self
    }

    /// The kind of account.
    pub fn kind(&self) -> AccountKind {
        self.kind
    }

    /// The account name, the token's `sub`; empty for anonymous clients.
    pub fn subject(&self) -> &str {
        &self.name
    }

    /// Whether the principal holds `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether the principal belongs to `organization`.
    pub fn is_member_of(&self, organization: &str) -> bool {
        self.organizations.contains(organization)
    }

    /// Whether an explicit grant allows `action` on `repository`.
    pub fn has_grant(&self, repository: &str, action: &Action) -> bool {
        self.grants
            .iter()
            .any(|grant| grant.allows(repository, action))
    }

    fn is_authenticated(&self) -> bool {
        self.kind != AccountKind::Anonymous
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_parse_print_and_cover() {
        let grant: Grant = "amd64/*:push".parse().unwrap();
        assert_eq!(grant.to_string(), "amd64/*:push");
        assert!(grant.allows("amd64/python", &Action::Push));
        assert!(grant.allows("amd64/team/app", &Action::Push));
        assert!(!grant.allows("amd64", &Action::Push));
        assert!(!grant.allows("amd64x/python", &Action::Push));
        assert!(!grant.allows("amd64/python", &Action::Pull));

        let grant: Grant = "acme/app:delete,pull,*".parse().unwrap();
        assert_eq!(grant.to_string(), "acme/app:pull,delete,*");
        assert!(grant.allows("acme/app", &Action::Push));
        assert!(!grant.allows("acme/app2", &Action::Pull));

        for bad in [
            "amd64/*",
            "*:push",
            "amd64/**:push",
            "Acme/app:pull",
            "localhost:5000/acme/*:push",
            "a:frob",
            "a:",
            ":pull",
        ] {
            assert_eq!(bad.parse::<Grant>(), Err(InvalidGrant(bad.into())), "{bad}");
        }
    }

    #[test]
    fn anonymous_principals_take_no_roles_memberships_or_grants() {
        let anonymous = Principal::anonymous()
            .with_role(Role::Admin)
            .member_of("acme")
            .with_grant("acme/*:push".parse().unwrap());
        assert_eq!(anonymous, Principal::anonymous());
        assert_eq!(anonymous.subject(), "");
    }

    #[test]
    fn an_architecture_agent_holds_one_push_grant() {
        let agent = Principal::architecture_agent("builder-arm64v8", Architecture::Arm64v8);
        assert_eq!(agent.kind(), AccountKind::Robot);
        assert!(agent.has_grant("arm64v8/debian", &Action::Push));
        assert!(!agent.has_grant("amd64/debian", &Action::Push));
        assert!(!agent.has_grant("arm64v8/debian", &Action::Delete));
    }
}

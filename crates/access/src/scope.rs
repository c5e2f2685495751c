//! The resource scopes of Docker registry token auth: what a client asks the token endpoint for
//! (`scope=repository:library/python:pull,push`), what a registry names in its `WWW-Authenticate`
//! challenge, and what a token's `access` claim grants.
//!
//! The grammar is distribution's:
//!
//! ```text
//! scope         := resourcescope [ ' ' resourcescope ]*
//! resourcescope := resourcetype ":" resourcename ":" action [ ',' action ]*
//! resourcetype  := /[a-z0-9]+/ [ '(' /[a-z0-9]+/ ')' ]
//! resourcename  := [ hostname '/' ] component [ '/' component ]*
//! action        := /[a-z*]+/
//! ```
//!
//! A resource name may carry one colon of its own (a registry host's port), so a scope splits at
//! its first and its last colon, never at every colon.

use std::collections::BTreeSet;
use std::fmt;

/// Distribution's limit on a repository name, hostname included.
const NAME_MAX_LEN: usize = 255;

/// What kind of resource a scope names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceType {
    /// `repository`: one repository of images (or, with the `plugin` class, of plugins).
    Repository,
    /// `registry`: the registry as a whole; `registry:catalog:*` lists repositories.
    Registry,
    /// Any other well-formed type; it parses so it can be refused by policy, never granted.
    Other(String),
}

impl ResourceType {
    fn from_value(value: &str) -> Self {
        match value {
            "repository" => Self::Repository,
            "registry" => Self::Registry,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The type as written in a scope and in a token's `access` claim.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Repository => "repository",
            Self::Registry => "registry",
            Self::Other(value) => value,
        }
    }
}

/// One action a scope asks for or grants.
///
/// The order of the variants is the order in which a scope prints its actions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// `pull`: read manifests, blobs and tags.
    Pull,
    /// `push`: write manifests, blobs and tags.
    Push,
    /// `delete`: delete manifests, blobs and tags.
    Delete,
    /// `*`: every action on the resource (`registry:catalog:*`).
    All,
    /// Any other action of the form `[a-z*]+`; never granted.
    Other(String),
}

impl Action {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let well_formed =
            !text.is_empty() && text.bytes().all(|b| b.is_ascii_lowercase() || b == b'*');
        well_formed.then(|| match text {
            "pull" => Self::Pull,
            "push" => Self::Push,
            "delete" => Self::Delete,
            "*" => Self::All,
            other => Self::Other(other.to_owned()),
        })
    }

    /// The action as written in a scope and in a token's `access` claim.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Pull => "pull",
            Self::Push => "push",
            Self::Delete => "delete",
            Self::All => "*",
            Self::Other(value) => value,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scope that does not follow the grammar. Each message quotes the offending scope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// Fewer than three colon-separated parts.
    #[error("scope {scope:?} needs the form type:name:action[,action], e.g. repository:library/python:pull")]
    MissingParts {
        /// The scope as given.
        scope: String,
    },
    /// The resource type is not `[a-z0-9]+`, optionally with a `([a-z0-9]+)` class.
    #[error("scope {scope:?} has resource type {resource_type:?}; use lowercase letters and digits, e.g. repository or repository(plugin)")]
    InvalidResourceType {
        /// The scope as given.
        scope: String,
        /// The type part as given.
        resource_type: String,
    },
    /// The resource name is not `[hostname/]component[/component]*`.
    #[error("scope {scope:?} names {name:?}, which is not a repository name like library/python or localhost:5000/team/app")]
    InvalidName {
        /// The scope as given.
        scope: String,
        /// The name part as given.
        name: String,
    },
    /// The resource name is longer than distribution allows.
    #[error(
        "scope {scope:?} has a name of {len} characters; names may have at most {NAME_MAX_LEN}"
    )]
    NameTooLong {
        /// The scope as given.
        scope: String,
        /// The name's length in bytes.
        len: usize,
    },
    /// An action is empty or not `[a-z*]+`.
    #[error("scope {scope:?} asks for action {action:?}; actions are lowercase words such as pull, push, delete or *")]
    InvalidAction {
        /// The scope as given.
        scope: String,
        /// The action as given.
        action: String,
    },
}

/// One resource scope: a typed, named resource and a set of actions on it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    resource_type: ResourceType,
    class: Option<String>,
    name: String,
    actions: BTreeSet<Action>,
}

impl Scope {
    /// A scope from its parts, checked against the grammar.
    pub fn new(
        resource_type: ResourceType,
        class: Option<String>,
        name: &str,
        actions: impl IntoIterator<Item = Action>,
    ) -> Result<Self, ScopeError> {
        let scope = Self::unchecked(resource_type, class, name, actions);
        // Printing and re-parsing checks every part with the one set of rules the parser uses.
        scope.to_string().parse()
    }

    /// A `repository` scope, the kind clients ask for.
    pub fn repository(
        name: &str,
        actions: impl IntoIterator<Item = Action>,
    ) -> Result<Self, ScopeError> {
        Self::new(ResourceType::Repository, None, name, actions)
    }

    /// A scope built from parts already known to be well formed.
    pub(crate) fn unchecked(
        resource_type: ResourceType,
        class: Option<String>,
        name: &str,
        actions: impl IntoIterator<Item = Action>,
    ) -> Self {
        Self {
            resource_type,
            class,
            name: name.to_owned(),
            actions: actions.into_iter().collect(),
        }
    }

    /// The resource type.
    pub fn resource_type(&self) -> &ResourceType {
        &self.resource_type
    }

    /// The resource class, as in `repository(plugin)`. Distribution ignores it when authorising.
    pub fn class(&self) -> Option<&str> {
        self.class.as_deref()
    }

    /// The resource name, e.g. `library/python`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The actions, in printing order, without repeats.
    pub fn actions(&self) -> &BTreeSet<Action> {
        &self.actions
    }

    /// Whether two scopes name the same resource, whatever their actions.
    pub fn same_resource(&self, other: &Scope) -> bool {
        self.resource_type == other.resource_type
            && self.class == other.class
            && self.name == other.name
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.resource_type.as_str())?;
        if let Some(class) = &self.class {
            write!(f, "({class})")?;
        }
        write!(f, ":{}:", self.name)?;
        for (index, action) in self.actions.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            f.write_str(action.as_str())?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Scope {
    type Err = ScopeError;

    fn from_str(scope: &str) -> Result<Self, Self::Err> {
        let missing_parts = || ScopeError::MissingParts {
            scope: scope.to_owned(),
        };
        let (type_part, rest) = scope.split_once(':').ok_or_else(missing_parts)?;
        let (name, action_part) = rest.rsplit_once(':').ok_or_else(missing_parts)?;
        let (resource_type, class) =
            parse_resource_type(type_part).ok_or_else(|| ScopeError::InvalidResourceType {
                scope: scope.to_owned(),
                resource_type: type_part.to_owned(),
            })?;
        check_name(scope, name)?;
        let actions = action_part
            .split(',')
            .map(|action| {
                Action::parse(action).ok_or_else(|| ScopeError::InvalidAction {
                    scope: scope.to_owned(),
                    action: action.to_owned(),
                })
            })
            .collect::<Result<BTreeSet<_>, _>>()?;
        Ok(Self {
            resource_type,
            class,
            name: name.to_owned(),
            actions,
        })
    }
}

/// Every scope in the `scope` parameters of one token request: each parameter may be repeated
/// (`GET`) or hold several scopes joined by spaces (`POST`). Scopes on the same resource merge
/// into one whose actions are the union, in the order the resources first appear.
pub fn parse_scopes<'a>(
    params: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Scope>, ScopeError> {
    let mut scopes: Vec<Scope> = Vec::new();
    for text in params.into_iter().flat_map(|param| param.split(' ')) {
        if text.is_empty() {
            continue;
        }
        merge_scope(&mut scopes, text.parse()?);
    }
    Ok(scopes)
}

/// Adds `scope` to `scopes`, joining it with an earlier scope on the same resource.
pub(crate) fn merge_scope(scopes: &mut Vec<Scope>, scope: Scope) {
    match scopes.iter_mut().find(|known| known.same_resource(&scope)) {
        Some(known) => known.actions.extend(scope.actions),
        None => scopes.push(scope),
    }
}

/// Scopes joined by spaces, as a challenge's `scope` parameter and a `POST` body carry them.
pub fn format_scopes(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(Scope::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

fn parse_resource_type(text: &str) -> Option<(ResourceType, Option<String>)> {
    let is_value = |value: &str| {
        !value.is_empty()
            && value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    let (value, class) = match text.strip_suffix(')') {
        Some(head) => {
            let (value, class) = head.split_once('(')?;
            (value, Some(class))
        }
        None => (text, None),
    };
    if !is_value(value) || !class.is_none_or(is_value) {
        return None;
    }
    Some((ResourceType::from_value(value), class.map(str::to_owned)))
}

fn check_name(scope: &str, name: &str) -> Result<(), ScopeError> {
    if name.len() > NAME_MAX_LEN {
        return Err(ScopeError::NameTooLong {
            scope: scope.to_owned(),
            len: name.len(),
        });
    }
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(ScopeError::InvalidName {
            scope: scope.to_owned(),
            name: name.to_owned(),
        })
    }
}

/// `[hostname '/'] component ['/' component]*`: a leading hostname (which may carry a port) only
/// counts when components follow it, since a bare host names no resource.
fn is_valid_name(name: &str) -> bool {
    let mut segments = name.split('/');
    let first = segments.next().unwrap_or_default();
    let rest: Vec<&str> = segments.collect();
    let first_ok = oci::is_valid_path_component(first) || (!rest.is_empty() && is_hostname(first));
    first_ok
        && rest
            .iter()
            .all(|segment| oci::is_valid_path_component(segment))
}

/// `component ['/' component]*`: a repository path without a registry host.
pub(crate) fn is_valid_path(path: &str) -> bool {
    path.split('/').all(oci::is_valid_path_component)
}

fn is_hostname(text: &str) -> bool {
    let (host, port) = match text.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (text, None),
    };
    let port_ok =
        port.is_none_or(|port| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()));
    port_ok && host.split('.').all(is_host_component)
}

fn is_host_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let edge_ok = |b: Option<&u8>| b.is_some_and(u8::is_ascii_alphanumeric);
    edge_ok(bytes.first())
        && edge_ok(bytes.last())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Scope, ScopeError> {
        text.parse()
    }

    #[test]
    fn well_formed_scopes_parse_and_print_back() {
        for text in [
            "repository:library/python:pull",
            "repository:library/python:pull,push",
            "repository(plugin):vieux/sshfs:pull",
            "registry:catalog:*",
            "repository:localhost:5000/team/app:pull",
            "repository:registry.example.com/a/b/c:push",
            "repository:python:pull,push,delete",
            "repository:my-org/app_name.v2:pull",
            "repository:a__b/c---d:pull",
            "repository:acme/app:pull,frobnicate",
        ] {
            let scope = parse(text).unwrap_or_else(|err| panic!("{text}: {err}"));
            assert_eq!(scope.to_string(), text);
        }
    }

    #[test]
    fn parts_are_split_at_the_first_and_last_colon() {
        let scope = parse("repository(plugin):localhost:5000/team/app:push,pull").unwrap();
        assert_eq!(scope.resource_type(), &ResourceType::Repository);
        assert_eq!(scope.class(), Some("plugin"));
        assert_eq!(scope.name(), "localhost:5000/team/app");
        assert_eq!(
            scope.actions().iter().collect::<Vec<_>>(),
            [&Action::Pull, &Action::Push]
        );
        assert_eq!(
            scope.to_string(),
            "repository(plugin):localhost:5000/team/app:pull,push"
        );
    }

    /// Which part of a scope a test expects the parser to blame, and the part as quoted.
    enum Blamed {
        Parts,
        Type(&'static str),
        Name(&'static str),
        Action(&'static str),
    }

    #[test]
    fn malformed_scopes_say_which_part_is_wrong() {
        use Blamed::*;
        for (text, blamed) in [
            ("", Parts),
            ("repository", Parts),
            ("repository:library/python", Parts),
            ("Repository:a:pull", Type("Repository")),
            ("repository():a:pull", Type("repository()")),
            ("repository(x:a:pull", Type("repository(x")),
            ("(x):a:pull", Type("(x)")),
            ("repository::pull", Name("")),
            ("repository:library/Python:pull", Name("library/Python")),
            ("repository:a//b:pull", Name("a//b")),
            ("repository:a/:pull", Name("a/")),
            ("repository:localhost:5000:pull", Name("localhost:5000")),
            ("repository:host:port/a:pull", Name("host:port/a")),
            ("repository:a/b:c/d:pull", Name("a/b:c/d")),
            ("repository:-a/b:pull", Name("-a/b")),
            ("repository:a:", Action("")),
            ("repository:a:pull,", Action("")),
            ("repository:a:PULL", Action("PULL")),
            ("repository:a:pu ll", Action("pu ll")),
        ] {
            let scope = text.to_owned();
            let expected = match blamed {
                Parts => ScopeError::MissingParts { scope },
                Type(part) => ScopeError::InvalidResourceType {
                    scope,
                    resource_type: part.into(),
                },
                Name(part) => ScopeError::InvalidName {
                    scope,
                    name: part.into(),
                },
                Action(part) => ScopeError::InvalidAction {
                    scope,
                    action: part.into(),
                },
            };
            assert_eq!(parse(text), Err(expected), "{text:?}");
        }
    }

    #[test]
    fn overlong_names_are_refused() {
        let name = format!("a/{}", "b".repeat(NAME_MAX_LEN));
        let text = format!("repository:{name}:pull");
        assert_eq!(
            parse(&text),
            Err(ScopeError::NameTooLong {
                scope: text.clone(),
                len: name.len()
            })
        );
    }

    #[test]
    fn repeated_and_space_joined_parameters_merge_per_resource() {
        let scopes = parse_scopes([
            "repository:library/python:pull",
            "repository:acme/app:push repository:library/python:push",
            "  registry:catalog:*  ",
        ])
        .unwrap();
        assert_eq!(
            format_scopes(&scopes),
            "repository:library/python:pull,push repository:acme/app:push registry:catalog:*"
        );
        assert_eq!(parse_scopes([]).unwrap(), []);
        assert!(parse_scopes(["repository:a:pull nonsense"]).is_err());
    }

    #[test]
    fn constructors_check_the_grammar() {
        assert!(Scope::repository("library/python", [Action::Pull]).is_ok());
        assert!(Scope::repository("Library/Python", [Action::Pull]).is_err());
        assert!(Scope::repository("library/python", []).is_err());
    }
}

//! What access control keeps in the metadata store: accounts with their roles, grants and
//! organisations, private repositories, refresh tokens, the token signing key and the audit log.
//!
//! The store holds these as plain data (grants in the access crate's text form, secrets as
//! hashes); deciding what they allow is the `access` crate's job.

use std::fmt;
use std::str::FromStr;

/// Whether an account is a person's or a machine's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountKind {
    /// A person, who may hold roles and organisation memberships.
    User,
    /// A machine (build agent, CI) acting through explicit grants only.
    Robot,
}

impl AccountKind {
    /// The kind as stored and printed: `user` or `robot`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Robot => "robot",
        }
    }
}

/// An account as the store records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The login name.
    pub name: String,
    /// A person's or a robot's.
    pub kind: AccountKind,
    /// The Argon2id PHC string of its password (a robot's secret).
    pub password_hash: String,
    /// Whether it may do everything.
    pub admin: bool,
    /// Whether it holds the Official Images publisher role (push to `library/`).
    pub publisher: bool,
    /// Its explicit grants, in text form (`arm64v8/*:push`), sorted.
    pub grants: Vec<String>,
    /// The organisations it belongs to, sorted.
    pub organisations: Vec<String>,
}

impl Account {
    /// The account in words, as the audit log and `hallmark admin user list` show it:
    /// `user alice, role publisher, grant acme/*:pull, member of acme`.
    pub fn describe(&self) -> String {
        let mut text = format!("{} {}", self.kind.as_str(), self.name);
        for (held, role) in [(self.admin, "admin"), (self.publisher, "publisher")] {
            if held {
                text += &format!(", role {role}");
            }
        }
        for grant in &self.grants {
            text += &format!(", grant {grant}");
        }
        for organisation in &self.organisations {
            text += &format!(", member of {organisation}");
        }
        text
    }
}

/// A refresh token as stored: its hash and what it is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenRecord {
    /// `sha256:<hex>` of the token; the token itself is never stored.
    pub token_hash: String,
    /// The account it acts for.
    pub subject: String,
    /// The service (token audience) it was issued for.
    pub service: String,
    /// After this, in Unix milliseconds, it is refused.
    pub expires_ms: i64,
}

/// What an audit entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// A manifest was pushed (under a tag or a digest).
    Push,
    /// A manifest or a tag was deleted.
    Delete,
    /// A push moved an existing tag to another manifest.
    TagMove,
    /// An account, grant, role, membership, visibility or tier changed.
    PermissionChange,
}

impl AuditAction {
    /// Every action, in the order they are documented.
    pub const ALL: [AuditAction; 4] = [
        Self::Push,
        Self::Delete,
        Self::TagMove,
        Self::PermissionChange,
    ];

    /// The action as stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Push => "push",
            Self::Delete => "delete",
            Self::TagMove => "tag-move",
            Self::PermissionChange => "permission-change",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An audit action name that is none of push, delete, tag-move or permission-change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit action {0:?} is unknown: use push, delete, tag-move or permission-change")]
pub struct UnknownAuditAction(pub String);

impl FromStr for AuditAction {
    type Err = UnknownAuditAction;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|action| action.as_str() == text)
            .ok_or_else(|| UnknownAuditAction(text.to_owned()))
    }
}

/// A change to record in the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    /// Who did it: an account name, `anonymous`, or `cli` for the admin commands.
    pub actor: String,
    /// What was done.
    pub action: AuditAction,
    /// The repository concerned, if any.
    pub repository: Option<String>,
    /// The tag or digest named, if any.
    pub reference: Option<String>,
    /// The manifest digest concerned, if any.
    pub digest: Option<String>,
    /// Anything else worth reading later (`granted amd64/*:push`, `from sha256:…`).
    pub detail: String,
}

impl NewAuditEntry {
    /// A permission change by `actor`, described by `detail`, about `repository` if any.
    pub fn permission_change(actor: &str, repository: Option<&str>, detail: String) -> Self {
        Self {
            actor: actor.to_owned(),
            action: AuditAction::PermissionChange,
            repository: repository.map(str::to_owned),
            reference: None,
            digest: None,
            detail,
        }
    }
}

/// A recorded audit entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Its position in the log; later entries have larger ids.
    pub id: i64,
    /// When it was recorded, in Unix milliseconds.
    pub at_ms: i64,
    /// What was recorded.
    pub entry: NewAuditEntry,
}

/// Which audit entries to read; every field narrows the answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only entries about this repository.
    pub repository: Option<String>,
    /// Only entries by this actor.
    pub actor: Option<String>,
    /// Only entries of this action.
    pub action: Option<AuditAction>,
    /// At most this many, newest first; all when `None`.
    pub limit: Option<u32>,
}

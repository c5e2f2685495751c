//! Account administration shared by the admin JSON API (`/admin/v1/…`) and `hallmark admin`:
//! building accounts with checked names and hashed secrets, and the JSON both print.

use access::password::Passwords;
use access::policy::is_reserved_namespace;
use access::principal::Grant;
use access::token::RefreshToken;
use serde_json::{json, Value};
use store::{Account, AccountKind, AuditEntry};

/// Why an account or organisation cannot be created as asked.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The account name has characters a login cannot carry.
    #[error("{0:?} cannot name an account: use 1 to 128 letters, digits and . _ - @ $")]
    AccountName(String),
    /// The organisation name is not a namespace an organisation may hold.
    #[error(
        "{0:?} cannot name an organisation: use a lowercase repository name component, \
         and neither library nor an architecture"
    )]
    OrganisationName(String),
    /// A grant does not parse.
    #[error(transparent)]
    Grant(#[from] access::principal::InvalidGrant),
    /// The secret could not be hashed or drawn.
    #[error("the secret could not be made: {0}")]
    Secret(String),
}

/// A fresh random secret: 256 bits as 43 base64url characters, for generated passwords and
/// robot secrets.
pub fn new_secret() -> Result<String, AdminError> {
    let token = RefreshToken::generate().map_err(|e| AdminError::Secret(e.to_string()))?;
    Ok(token.as_str().to_owned())
}

/// An account named `name` with `password` hashed by `passwords`, and no roles, grants or
/// memberships yet.
pub fn new_account(
    name: &str,
    kind: AccountKind,
    password: &str,
    passwords: &Passwords,
) -> Result<Account, AdminError> {
    let valid = (1..=128).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '$'));
    if !valid {
        return Err(AdminError::AccountName(name.to_owned()));
    }
    let password_hash = passwords
        .hash(password)
        .map_err(|e| AdminError::Secret(e.to_string()))?;
    Ok(Account {
        name: name.to_owned(),
        kind,
        password_hash,
        admin: false,
        publisher: false,
        grants: Vec::new(),
        organisations: Vec::new(),
    })
}

/// The grants in their canonical text, each checked.
pub fn checked_grants(grants: &[String]) -> Result<Vec<String>, AdminError> {
    grants
        .iter()
        .map(|grant| Ok(grant.parse::<Grant>()?.to_string()))
        .collect()
}

/// `name` if an organisation may hold that namespace.
pub fn checked_organisation(name: &str) -> Result<&str, AdminError> {
    if oci::is_valid_path_component(name) && !is_reserved_namespace(name) {
        Ok(name)
    } else {
        Err(AdminError::OrganisationName(name.to_owned()))
    }
}

/// An account as JSON, without its password hash.
pub fn account_json(account: &Account) -> Value {
    json!({
        "name": account.name,
        "kind": account.kind.as_str(),
        "admin": account.admin,
        "publisher": account.publisher,
        "grants": account.grants,
        "organisations": account.organisations,
    })
}

/// An audit entry as JSON.
pub fn audit_json(entry: &AuditEntry) -> Value {
    let e = &entry.entry;
    json!({
        "id": entry.id,
        "at_ms": entry.at_ms,
        "actor": e.actor,
        "action": e.action.as_str(),
        "repository": e.repository,
        "reference": e.reference,
        "digest": e.digest,
        "detail": e.detail,
    })
}

/// Sets an organisation's tier and records the change in the audit log as `actor`'s.
pub async fn set_tier(
    meta: &impl store::MetaStore,
    organisation: &str,
    tier: oci::OrganisationTier,
    actor: &str,
) -> Result<(), store::MetaError> {
    meta.set_organisation_tier(organisation, Some(tier)).await?;
    let detail = format!("set the tier of {organisation} to {}", tier.as_str());
    let entry = store::NewAuditEntry::permission_change(actor, None, detail);
    meta.record_audit(&entry).await
}

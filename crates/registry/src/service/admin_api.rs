//! The admin JSON API under `/admin/v1/`, for admin accounts' tokens: accounts, organisations
//! and members, tiers, repository visibility, and the audit log. `hallmark admin` does the same
//! on the data folder; both build accounts with [`crate::admin`].

use axum::body::Body;
use axum::http::{header, Method, StatusCode};
use axum::response::Response;
use oci::{ErrorCode, OrganisationTier};
use serde::Deserialize;
use serde_json::{json, Value};
use store::{AccountKind, AuditAction, AuditFilter, BlobStore, MetaStore};

use super::{bad_request, json_response, respond, Query};
use crate::admin::{
    account_json, audit_json, checked_grants, checked_organisation, new_account, new_secret,
    set_tier, AdminError,
};
use crate::auth::Caller;
use crate::body::read_limited;
use crate::error::{RegistryError, Result};
use crate::route::AdminRoute;
use crate::Registry;

/// Far above any real admin request.
const MAX_BODY_BYTES: usize = 64 << 10;

/// `POST /admin/v1/accounts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAccount {
    name: String,
    #[serde(default)]
    robot: bool,
    /// Generated (and returned once) when absent.
    password: Option<String>,
    #[serde(default)]
    admin: bool,
    #[serde(default)]
    publisher: bool,
    #[serde(default)]
    grants: Vec<String>,
    #[serde(default)]
    organisations: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOrganisation {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TierChange {
    tier: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VisibilityChange {
    private: bool,
}

/// What a handler wants answered: a JSON body with a status, or a `400`.
enum Answer {
    Json(StatusCode, Value),
    NoContent,
    BadRequest(String),
}

impl From<AdminError> for Answer {
    fn from(error: AdminError) -> Self {
        Self::BadRequest(error.to_string())
    }
}

impl<B: BlobStore, M: MetaStore> Registry<B, M> {
    /// Any `/admin/v1/…` request; [`Registry::authorize`] has checked it is an admin's.
    pub(crate) async fn admin_api(
        &self,
        method: &Method,
        route: AdminRoute,
        query: &Query,
        body: Body,
        caller: &Caller,
    ) -> Result<Response> {
        let body = read_limited(body, MAX_BODY_BYTES, &self.metrics.received).await?;
        let answer = match self.admin_answer(method, route, query, &body, caller).await {
            Ok(answer) => answer,
            Err(AnswerError::Registry(error)) => return Err(error),
            Err(AnswerError::Answer(answer)) => answer,
        };
        match answer {
            Answer::Json(status, value) => {
                let mut response = json_response("application/json", &value, &[])?;
                *response.status_mut() = status;
                Ok(response)
            }
            Answer::NoContent => respond(
                StatusCode::NO_CONTENT,
                &[(header::CONTENT_LENGTH, "0")],
                Body::empty(),
            ),
            Answer::BadRequest(description) => bad_request(&description),
        }
    }

    async fn admin_answer(
        &self,
        method: &Method,
        route: AdminRoute,
        query: &Query,
        body: &[u8],
        caller: &Caller,
    ) -> Result<Answer, AnswerError> {
        let actor = caller.actor();
        let meta = &self.meta;
        Ok(match (method.clone(), route) {
            (Method::GET, AdminRoute::Accounts) => {
                let accounts = meta.accounts().await?;
                let json: Vec<Value> = accounts.iter().map(account_json).collect();
                Answer::Json(StatusCode::OK, json!(json))
            }
            (Method::POST, AdminRoute::Accounts) => {
                let asked: NewAccount = parse(body)?;
                let kind = if asked.robot {
                    AccountKind::Robot
                } else {
                    AccountKind::User
                };
                let generated = match asked.password {
                    Some(_) => None,
                    None => Some(new_secret()?),
                };
                let password = asked.password.as_deref().or(generated.as_deref());
                let passwords = self.auth.as_ref().map(|auth| &auth.config.passwords);
                let default_passwords = access::password::Passwords::default();
                let passwords = passwords.unwrap_or(&default_passwords);
                let mut account =
                    new_account(&asked.name, kind, password.unwrap_or_default(), passwords)?;
                account.admin = asked.admin;
                account.publisher = asked.publisher;
                account.grants = checked_grants(&asked.grants)?;
                account.organisations = asked.organisations;
                if !meta.create_account(&account, actor).await? {
                    return Err(denied(format!("an account named {} exists", account.name)));
                }
                let body = json!({ "account": account_json(&account), "secret": generated });
                Answer::Json(StatusCode::CREATED, body)
            }
            (Method::DELETE, AdminRoute::Account(name)) => {
                if !meta.delete_account(&name, actor).await? {
                    return Err(unknown(format!("there is no account {name}")));
                }
                Answer::NoContent
            }
            (Method::POST, AdminRoute::Organisations) => {
                let asked: NewOrganisation = parse(body)?;
                let name = checked_organisation(&asked.name)?;
                if !meta.create_organisation(name, actor).await? {
                    return Err(denied(format!("organisation {name} exists")));
                }
                Answer::Json(StatusCode::CREATED, json!({ "name": name }))
            }
            (Method::PUT, AdminRoute::Member(organisation, account)) => {
                meta.add_member(&organisation, &account, actor).await?;
                Answer::NoContent
            }
            (Method::PUT, AdminRoute::Tier(organisation)) => {
                let asked: TierChange = parse(body)?;
                let tier: OrganisationTier = asked
                    .tier
                    .parse()
                    .map_err(|e: oci::UnknownTier| Answer::BadRequest(e.to_string()))?;
                set_tier(meta, &organisation, tier, actor).await?;
                Answer::NoContent
            }
            (Method::PUT, AdminRoute::Visibility(name)) => {
                let asked: VisibilityChange = parse(body)?;
                meta.set_private(name.as_str(), asked.private, actor)
                    .await?;
                Answer::NoContent
            }
            (Method::GET, AdminRoute::Audit) => {
                let action = query
                    .get("action")
                    .map(str::parse::<AuditAction>)
                    .transpose()
                    .map_err(|e| Answer::BadRequest(e.to_string()))?;
                let limit = query
                    .get("limit")
                    .map(str::parse::<u32>)
                    .transpose()
                    .map_err(|e| Answer::BadRequest(format!("limit: {e}")))?;
                let filter = AuditFilter {
                    repository: query.get("repo").map(str::to_owned),
                    actor: query.get("actor").map(str::to_owned),
                    action,
                    limit,
                };
                let entries = meta.audit_log(&filter).await?;
                let json: Vec<Value> = entries.iter().map(audit_json).collect();
                Answer::Json(StatusCode::OK, json!(json))
            }
            (method, _) => {
                return Err(AnswerError::Registry(RegistryError::new(
                    ErrorCode::Unsupported,
                    format!("{method} is not supported on this admin endpoint"),
                )))
            }
        })
    }
}

/// A handler's way out: a registry error, or an answer (a `400`) that ends it early.
enum AnswerError {
    Registry(RegistryError),
    Answer(Answer),
}

impl From<store::MetaError> for AnswerError {
    fn from(error: store::MetaError) -> Self {
        Self::Registry(error.into())
    }
}

impl From<AdminError> for AnswerError {
    fn from(error: AdminError) -> Self {
        Self::Answer(error.into())
    }
}

impl From<Answer> for AnswerError {
    fn from(answer: Answer) -> Self {
        Self::Answer(answer)
    }
}

fn parse<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, AnswerError> {
    serde_json::from_slice(body).map_err(|e| AnswerError::Answer(Answer::BadRequest(e.to_string())))
}

fn denied(detail: String) -> AnswerError {
    AnswerError::Registry(RegistryError::new(ErrorCode::Denied, detail))
}

fn unknown(detail: String) -> AnswerError {
    AnswerError::Registry(RegistryError::new(ErrorCode::NameUnknown, detail))
}

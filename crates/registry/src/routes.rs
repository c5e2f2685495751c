//! The HTTP surface: one dispatcher maps each (method, route) to a service call in one line,
//! and one middleware layer logs, counts and stamps every response.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use oci::ErrorCode;
use store::{BlobStore, MetaStore};

use crate::error::RegistryError;
use crate::metrics::Metrics;
use crate::name::RepositoryName;
use crate::route::Route;
use crate::service::{ping, version_check, Query};
use crate::Registry;

const API_VERSION: HeaderName = HeaderName::from_static("docker-distribution-api-version");

/// Which route answered, for the metrics layer.
#[derive(Debug, Clone, Copy)]
struct RouteLabel(&'static str);

/// The registry's HTTP application: the distribution API under `/v2/`, Hub's search and
/// repository API, and Prometheus metrics at `/metrics`.
pub fn router<B, M>(registry: Registry<B, M>) -> Router
where
    B: BlobStore + 'static,
    M: MetaStore + 'static,
{
    shared_router(Arc::new(registry))
}

/// [`router`] over a registry the caller keeps a handle to, for work after serving stops
/// ([`Registry::flush_pulls`]).
pub fn shared_router<B, M>(registry: Arc<Registry<B, M>>) -> Router
where
    B: BlobStore + 'static,
    M: MetaStore + 'static,
{
    let metrics = registry.metrics.clone();
    Router::new()
        .route("/metrics", get(render_metrics))
        .with_state(metrics.clone())
        .fallback(dispatch::<B, M>)
        .with_state(registry)
        .layer(middleware::from_fn_with_state(metrics, observe))
}

async fn render_metrics(State(metrics): State<Arc<Metrics>>) -> Response {
    let mut response = metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response.extensions_mut().insert(RouteLabel("metrics"));
    response
}

async fn dispatch<B, M>(State(registry): State<Arc<Registry<B, M>>>, request: Request) -> Response
where
    B: BlobStore + 'static,
    M: MetaStore + 'static,
{
    let (parts, body) = request.into_parts();
    let route = match Route::parse(parts.uri.path()) {
        Ok(Some(route)) => route,
        Ok(None) => return not_found(),
        Err(error) => return error.into_response(),
    };
    let label = route.label();
    let query = Query::parse(parts.uri.query());
    let (method, headers, r) = (&parts.method, &parts.headers, &*registry);
    let caller = match r.authorize(method, &route, headers).await {
        Ok(caller) => caller,
        Err(error) => {
            let mut response = error.into_response();
            response.extensions_mut().insert(RouteLabel(label));
            return response;
        }
    };
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([127, 0, 0, 1]), |info| info.0.ip());
    let head = method == Method::HEAD;
    let pulled = match &route {
        Route::Manifest(name, _) if method == Method::GET => Some(name.clone()),
        _ => None,
    };
    let result = match (method.clone(), route) {
        (Method::GET | Method::HEAD, Route::Base) => version_check(),
        (Method::GET, Route::Catalog) => r.catalog(&query).await,
        (Method::GET | Method::HEAD, Route::Manifest(n, re)) => {
            r.get_manifest(&n, &re, headers, head).await
        }
        (Method::PUT, Route::Manifest(n, re)) => {
            r.put_manifest(&n, &re, headers, body, &caller).await
        }
        (Method::DELETE, Route::Manifest(n, re)) => r.delete_manifest(&n, &re, &caller).await,
        (Method::GET | Method::HEAD, Route::Blob(n, d)) => r.get_blob(&n, &d, headers, head).await,
        (Method::DELETE, Route::Blob(n, d)) => r.delete_blob(&n, &d, &caller).await,
        (Method::POST, Route::Uploads(n)) => r.start_upload(&n, &query, body, &caller).await,
        (Method::GET, Route::Upload(n, id)) => r.upload_status(&n, &id).await,
        (Method::PATCH, Route::Upload(n, id)) => r.patch_upload(&n, &id, headers, body).await,
        (Method::PUT, Route::Upload(n, id)) => {
            r.finish_upload(&n, &id, &query, headers, body).await
        }
        (Method::DELETE, Route::Upload(n, id)) => r.cancel_upload(&n, &id).await,
        (Method::GET, Route::Tags(n)) => r.list_tags(&n, &query).await,
        (Method::GET, Route::Referrers(n, d)) => r.referrers(&n, &d, &query).await,
        (Method::GET, Route::BuildLog(n, tag)) => r.build_log(&n, &tag).await,
        (Method::GET, Route::Ping) => ping(),
        (Method::GET, Route::Search) => r.search(&query).await,
        (Method::GET, Route::HubNamespace(ns)) => r.hub_namespace(&ns, &query, headers).await,
        (Method::GET, Route::HubRepository(n)) => r.hub_repository(&n, &caller).await,
        (Method::GET, Route::HubTags(n)) => r.hub_tags(&n, &query, headers).await,
        (Method::GET, Route::HubTag(n, tag)) => r.hub_tag(&n, &tag).await,
        (Method::POST, Route::HubStars(n)) => r.hub_star(&n, true, &caller).await,
        (Method::DELETE, Route::HubStars(n)) => r.hub_star(&n, false, &caller).await,
        (method, Route::Admin(admin)) => r.admin_api(&method, admin, &query, body, &caller).await,
        (Method::GET | Method::POST, Route::Token) => {
            r.token(method, parts.uri.query(), headers, body, peer)
                .await
        }
        (method, _) => Err(RegistryError::new(
            ErrorCode::Unsupported,
            format!("{method} is not supported on {}", parts.uri.path()),
        )),
    };
    let mut response = result.unwrap_or_else(IntoResponse::into_response);
    if let Some(name) = pulled.filter(|_| response.status() == StatusCode::OK) {
        count_pull(&registry, &name);
    }
    response.extensions_mut().insert(RouteLabel(label));
    response
}

/// Counts a manifest GET as a pull, and schedules the batch's write when none is waiting.
fn count_pull<B, M>(registry: &Arc<Registry<B, M>>, name: &RepositoryName)
where
    B: BlobStore + 'static,
    M: MetaStore + 'static,
{
    if registry.pulls.count(name.as_str()) {
        let registry = registry.clone();
        tokio::spawn(async move { registry.pulls.flush_later(&registry.meta).await });
    }
}

/// A path outside the API: no spec error code applies, so a bare 404.
fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Body::empty()).into_response()
}

/// Logs and counts each request and marks every response as the v2 API's.
async fn observe(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    let route = response
        .extensions()
        .get::<RouteLabel>()
        .map_or("unknown", |label| label.0);
    let status = response.status().as_u16();
    metrics.record_request(route, method.as_str(), status);
    // Per-request lines are debug: at registry request rates they would cost more than
    // serving; failures the registry causes are logged at error where they happen.
    tracing::debug!(
        %method,
        path,
        status,
        route,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
        .headers_mut()
        .insert(API_VERSION, HeaderValue::from_static("registry/2.0"));
    response
}

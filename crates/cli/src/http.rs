//! The HTTP side of `rookery serve --http`: the built web UI and the UI's API (`docs/api.md`)
//! over HTTP and server-sent events, on loopback only, behind a random token.
//!
//! Every route is a one-line adapter over [`rookery_node::app::App`]. The token is checked by a
//! middleware around the whole router, before routing, so a request under `/api/` without it
//! gets 401 whatever the path: unknown paths do not reveal what exists. Request bodies are
//! capped, parsed here into typed arguments, and any failure is a JSON error with a stable code.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rookery_node::NodeError;
use rookery_node::app::App;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;
use tower_http::services::ServeDir;

/// The largest request body: an avatar (1 MiB) with room to spare.
const MAX_BODY: usize = 2 << 20;
/// The page's Content-Security-Policy: nothing inline, nothing remote.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
    frame-ancestors 'none'; form-action 'none'";
/// For images (an SVG avatar opened on its own must not run anything).
const BLOB_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

/// What the routes share.
#[derive(Clone)]
struct Ctx {
    app: Arc<App>,
    /// BLAKE3 of the token: compared in constant time.
    token: blake3::Hash,
}

/// An error as the UI reads it: `{"error": {"code", "message"}}` with a fitting status.
struct ApiError(StatusCode, &'static str, String);

impl From<NodeError> for ApiError {
    fn from(e: NodeError) -> Self {
        let status = match &e {
            NodeError::BadRequest(_)
            | NodeError::BadAddress(_)
            | NodeError::BadCursor
            | NodeError::Feed(_) => StatusCode::BAD_REQUEST,
            NodeError::NotFound(_) | NodeError::UnknownMessage(_) => StatusCode::NOT_FOUND,
            NodeError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            NodeError::MissingNodes(_) | NodeError::MissingBodies(_) | NodeError::Network(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(status, e.code(), e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": {"code": self.1, "message": self.2}});
        (self.0, Json(body)).into_response()
    }
}

type ApiResult<T> = Result<Json<T>, ApiError>;

/// Parses a JSON body into `T`, with a readable error.
fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("the request body is not what this call takes: {e}"),
        )
    })
}

/// A new random token: 32 bytes, hex.
pub(crate) fn new_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness for the token: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Binds `addr` (loopback only) and serves the UI from `ui` and the API. Returns the address
/// bound and the server's future.
pub(crate) async fn bind(
    app: Arc<App>,
    addr: SocketAddr,
    ui: PathBuf,
    token: &str,
) -> anyhow::Result<(
    SocketAddr,
    impl Future<Output = std::io::Result<()>> + use<>,
)> {
    anyhow::ensure!(
        addr.ip().is_loopback(),
        "the HTTP API serves on loopback only (127.0.0.1), not {addr}"
    );
    if !ui.join("index.html").exists() {
        tracing::warn!(
            "no built UI at {} (run `make ui`); serving the API only",
            ui.display()
        );
    }
    let ctx = Ctx {
        app,
        token: blake3::hash(token.as_bytes()),
    };
    let router = routes(ctx.clone(), ui);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    Ok((bound, async move { axum::serve(listener, router).await }))
}

fn routes(ctx: Ctx, ui: PathBuf) -> Router {
    let api = Router::new()
        .route("/me", get(me))
        .route("/timeline", get(timeline))
        .route("/feed/{key}", get(author_feed))
        .route("/thread/{id}", get(thread))
        .route("/profile/{key}", get(profile))
        .route("/profile", post(set_profile))
        .route("/people", get(people))
        .route("/notifications", get(notifications))
        .route("/notifications/read", post(mark_read))
        .route("/post", post(publish))
        .route("/reply", post(reply))
        .route("/follow", post(follow))
        .route("/unfollow", post(unfollow))
        .route("/block", post(block))
        .route("/delete", post(delete))
        .route("/avatar", post(set_avatar))
        .route("/blob/{hash}", get(blob))
        .route("/status", get(status))
        .route("/settings", get(settings).post(set_settings))
        .route("/export-key", post(export_key))
        .route("/demo", post(demo))
        .route("/events", get(events))
        .fallback(|| async {
            ApiError(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such API call".into(),
            )
        })
        .layer(DefaultBodyLimit::max(MAX_BODY));
    Router::new()
        .nest("/api", api)
        .fallback_service(ServeDir::new(ui))
        .layer(middleware::from_fn_with_state(ctx.clone(), guard))
        .with_state(ctx)
}

/// Runs before routing: the token for `/api/`, and the security headers on every answer.
/// The token comes in the `Authorization` header; only the event stream (`GET /api/events`,
/// for `EventSource`, which cannot send headers) also takes it as `?token=`, so the token
/// never sits in an image address or another URL a user might copy.
async fn guard(State(ctx): State<Ctx>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let is_api = path == "/api" || path.starts_with("/api/");
    if is_api {
        let bearer = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let query = (path == "/api/events" && req.method() == Method::GET)
            .then(|| req.uri().query())
            .flatten()
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("token=")));
        let ok = bearer
            .or(query)
            .is_some_and(|t| blake3::hash(t.as_bytes()) == ctx.token);
        if !ok {
            return ApiError(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "this needs the token printed by `rookery serve`".into(),
            )
            .into_response();
        }
    }
    let is_blob = path.starts_with("/api/blob/");
    let mut res = next.run(req).await;
    if is_api {
        res = json_errors(res).await;
    }
    let cached = is_blob && res.status().is_success();
    let h = res.headers_mut();
    let csp = if is_blob { BLOB_CSP } else { CSP };
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Images are content-addressed: the same URL is the same bytes forever.
    let cache = if cached {
        "private, max-age=31536000, immutable"
    } else {
        "no-store"
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    res
}

/// Errors that axum produces itself (a query string that does not parse, a wrong method, a
/// body over the cap) come as plain text; the API answers every error as JSON.
async fn json_errors(res: Response) -> Response {
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return res;
    }
    let text = axum::body::to_bytes(res.into_body(), 64 << 10)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let (code, fallback) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ("too_large", "the request body is over the limit"),
        StatusCode::METHOD_NOT_ALLOWED => ("bad_request", "this call does not take that method"),
        s if s.is_client_error() => ("bad_request", "the request is malformed"),
        _ => ("internal", "the server failed"),
    };
    let message = if text.is_empty() {
        fallback.to_string()
    } else {
        text
    };
    ApiError(status, code, message).into_response()
}

#[derive(Deserialize)]
struct PageQuery {
    cursor: Option<String>,
    limit: Option<usize>,
}

async fn me(State(c): State<Ctx>) -> ApiResult<rookery_node::api::Me> {
    Ok(Json(c.app.me().await?))
}

async fn timeline(
    State(c): State<Ctx>,
    Query(q): Query<PageQuery>,
) -> ApiResult<rookery_node::api::Page> {
    Ok(Json(c.app.timeline(q.cursor.as_deref(), q.limit).await?))
}

async fn author_feed(
    State(c): State<Ctx>,
    Path(key): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<rookery_node::api::Page> {
    let page = c.app.author_feed(&key, q.cursor.as_deref(), q.limit);
    Ok(Json(page.await?))
}

async fn thread(
    State(c): State<Ctx>,
    Path(id): Path<String>,
) -> ApiResult<rookery_node::api::Thread> {
    Ok(Json(c.app.thread(&id).await?))
}

async fn profile(
    State(c): State<Ctx>,
    Path(key): Path<String>,
) -> ApiResult<rookery_node::api::Profile> {
    Ok(Json(c.app.profile(&key).await?))
}

async fn people(State(c): State<Ctx>) -> ApiResult<Vec<rookery_node::api::Person>> {
    Ok(Json(c.app.people().await?))
}

#[derive(Deserialize)]
struct LimitQuery {
    limit: Option<usize>,
}

async fn notifications(
    State(c): State<Ctx>,
    Query(q): Query<LimitQuery>,
) -> ApiResult<rookery_node::api::Notifications> {
    Ok(Json(c.app.notifications(q.limit).await?))
}

#[derive(Deserialize)]
struct MarkRead {
    id: Option<String>,
    limit: Option<usize>,
}

async fn mark_read(State(c): State<Ctx>, b: Bytes) -> ApiResult<rookery_node::api::Notifications> {
    let a: MarkRead = if b.is_empty() {
        MarkRead {
            id: None,
            limit: None,
        }
    } else {
        body(&b)?
    };
    Ok(Json(c.app.mark_read(a.id.as_deref(), a.limit).await?))
}

#[derive(Deserialize)]
struct Text {
    text: String,
}

async fn publish(State(c): State<Ctx>, b: Bytes) -> ApiResult<rookery_node::api::MessageView> {
    let a: Text = body(&b)?;
    Ok(Json(c.app.post(&a.text).await?))
}

#[derive(Deserialize)]
struct ReplyArgs {
    parent: String,
    text: String,
}

async fn reply(State(c): State<Ctx>, b: Bytes) -> ApiResult<rookery_node::api::MessageView> {
    let a: ReplyArgs = body(&b)?;
    Ok(Json(c.app.reply(&a.parent, &a.text).await?))
}

#[derive(Deserialize)]
struct Address {
    address: String,
}

async fn follow(State(c): State<Ctx>, b: Bytes) -> ApiResult<rookery_node::api::Profile> {
    let a: Address = body(&b)?;
    Ok(Json(c.app.follow(&a.address).await?))
}

#[derive(Deserialize)]
struct KeyArg {
    key: String,
}

async fn unfollow(State(c): State<Ctx>, b: Bytes) -> ApiResult<rookery_node::api::Profile> {
    let a: KeyArg = body(&b)?;
    Ok(Json(c.app.unfollow(&a.key).await?))
}

async fn block(State(c): State<Ctx>, b: Bytes) -> ApiResult<rookery_node::api::Profile> {
    let a: KeyArg = body(&b)?;
    Ok(Json(c.app.block(&a.key).await?))
}

#[derive(Deserialize)]
struct IdArg {
    id: String,
}

async fn delete(State(c): State<Ctx>, b: Bytes) -> ApiResult<()> {
    let a: IdArg = body(&b)?;
    Ok(Json(c.app.delete(&a.id).await?))
}

#[derive(Deserialize)]
struct ProfileArgs {
    name: String,
    #[serde(default)]
    bio: String,
}

async fn set_profile(State(c): State<Ctx>, b: Bytes) -> ApiResult<rookery_node::api::Profile> {
    let a: ProfileArgs = body(&b)?;
    Ok(Json(c.app.set_profile(&a.name, &a.bio).await?))
}

async fn set_avatar(State(c): State<Ctx>, b: Bytes) -> ApiResult<rookery_node::api::Profile> {
    Ok(Json(c.app.set_avatar(&b).await?))
}

async fn blob(State(c): State<Ctx>, Path(hash): Path<String>) -> Result<Response, ApiError> {
    let (bytes, kind) = c.app.blob(&hash).await?;
    Ok(([(header::CONTENT_TYPE, kind)], bytes).into_response())
}

async fn status(State(c): State<Ctx>) -> ApiResult<rookery_node::api::Status> {
    Ok(Json(c.app.status().await?))
}

async fn settings(State(c): State<Ctx>) -> ApiResult<rookery_node::api::Settings> {
    Ok(Json(c.app.settings().await?))
}

#[derive(Deserialize)]
struct SettingsArgs {
    relays: Option<bool>,
    notifications: Option<bool>,
}

async fn set_settings(State(c): State<Ctx>, b: Bytes) -> ApiResult<rookery_node::api::Settings> {
    let a: SettingsArgs = body(&b)?;
    Ok(Json(c.app.set_settings(a.relays, a.notifications).await?))
}

async fn export_key(State(c): State<Ctx>) -> ApiResult<rookery_node::api::KeyBackup> {
    Ok(Json(c.app.export_key().await?))
}

async fn demo(State(c): State<Ctx>) -> ApiResult<()> {
    Ok(Json(c.app.start_demo().await?))
}

/// The node's events as server-sent events, one JSON `Event` per message. A client that
/// falls behind has its stream ended: `EventSource` reconnects, and the UI reloads what it
/// shows on reconnecting, so nothing missed stays missing.
async fn events(State(c): State<Ctx>) -> impl IntoResponse {
    let stream = BroadcastStream::new(c.app.subscribe())
        .map_while(|e| e.ok())
        .filter_map(|e| {
            let data = serde_json::to_string(&e).ok()?;
            Some(Ok::<_, std::convert::Infallible>(
                SseEvent::default().data(data),
            ))
        });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

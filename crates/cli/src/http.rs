//! The HTTP side of `rookery serve --http`: the built web UI and the UI's API (`docs/api.md`)
//! over HTTP and server-sent events, on loopback only, behind a random token.
//!
//! Every command of the table is `POST /api/{command}`, run by [`rookery_app::dispatch`] (the
//! one dispatcher, generated from the table); `GET /api/events` streams the node's events. The
//! token is checked by a middleware around the whole router, before routing, so a request under
//! `/api/` without it gets 401 whatever the path: unknown paths do not reveal what exists.
//! Request bodies are capped, and any failure is a JSON error with a stable code.
//!
//! The server is its own accept loop over hyper, so nothing local can exhaust it: at most
//! [`MAX_CONNECTIONS`] connections are served at once (beyond that, accepting waits); a
//! connection that sends no whole request head within [`HEADER_TIMEOUT`] — whether it is slow or
//! idle between requests — is closed (within a second, if it came while the server was more
//! than half full), and so is a request whose body does not arrive within
//! [`BODY_TIMEOUT`]; an error from `accept` (out of file descriptors, say) slows accepting and
//! never ends the loop. Requests must name the bound address as their `Host` (a page on
//! another site whose name points at 127.0.0.1 — DNS rebinding — is refused), and a command's
//! body must say it is JSON (or bytes, for an upload).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rookery_app::{App, AppError, ErrorCode, Reply};
use tower_http::services::ServeDir;

/// The largest request body: an avatar (1 MiB) with room to spare.
const MAX_BODY: usize = 2 << 20;
/// Connections served at once; more wait to be accepted.
pub(crate) const MAX_CONNECTIONS: usize = 64;
/// How long a connection may take to send a request's head, or sit idle between requests.
pub(crate) const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// The same, for a connection accepted while more than half the slots are taken: under a crowd
/// of idle connections, the new ones must earn their place quickly.
const BUSY_HEADER_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a request's body may take to arrive.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a command may run (a read through the sessions answers well before).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
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
    /// The port bound: a request's `Host` must be a loopback name with it (or no port).
    port: u16,
}

/// An error as the UI reads it: `{"error": {"code", "message"}}` with the code's status.
struct ApiError(AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::json!({ "error": self.0.view() });
        (status, Json(body)).into_response()
    }
}

fn api_error(code: ErrorCode, message: impl Into<String>) -> ApiError {
    ApiError(AppError::new(code, message))
}

/// A new random token: 32 bytes, hex.
pub(crate) fn new_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness for the token: {e}"))?;
    Ok(rookery_app::hex::format_hash(&bytes))
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
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let ctx = Ctx {
        app,
        token: blake3::hash(token.as_bytes()),
        port: bound.port(),
    };
    let router = routes(ctx.clone(), ui);
    Ok((bound, serve(listener, router)))
}

/// The accept loop: a permit per connection, timeouts on heads and idle time, and accept
/// errors that slow the loop down instead of ending it.
async fn serve(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return Ok(());
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of descriptors, or a connection reset before it was taken: wait a little
                // (descriptors come back as connections close) and go on.
                tracing::warn!("accepting an HTTP connection failed: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        let busy = permits.available_permits() < MAX_CONNECTIONS / 2;
        let head_timeout = if busy {
            BUSY_HEADER_TIMEOUT
        } else {
            HEADER_TIMEOUT
        };
        tokio::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(head_timeout)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            if let Err(e) = conn.await {
                tracing::debug!("an HTTP connection ended: {e}");
            }
            drop(permit);
        });
    }
}

fn routes(ctx: Ctx, ui: PathBuf) -> Router {
    let api = Router::new()
        .route("/events", get(events))
        .route("/{command}", post(command))
        .fallback(|| async { api_error(ErrorCode::NotFound, "no such API call") })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            BODY_TIMEOUT,
        ));
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
    if !host_is_ours(&req, ctx.port) {
        let mut res = api_error(
            ErrorCode::BadRequest,
            "this server answers only to its own address (127.0.0.1 or localhost)",
        )
        .into_response();
        *res.status_mut() = StatusCode::MISDIRECTED_REQUEST;
        return res;
    }
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
            return api_error(
                ErrorCode::Unauthorized,
                "this needs the token printed by `rookery serve`",
            )
            .into_response();
        }
    }
    let is_blob = path == "/api/blob";
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

/// Whether the request's `Host` is this server on loopback: `127.0.0.1`, `localhost` or
/// `[::1]`, with the bound port or none.
fn host_is_ours(req: &Request, port: u16) -> bool {
    let Some(host) = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
    else {
        return false;
    };
    let (name, p) = match host.rsplit_once(':') {
        Some((n, p)) if !n.ends_with(':') && !p.contains(']') => (n, Some(p)),
        _ => (host, None),
    };
    let loopback = matches!(name, "127.0.0.1" | "localhost" | "[::1]");
    loopback && p.is_none_or(|p| p.parse() == Ok(port))
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
        StatusCode::PAYLOAD_TOO_LARGE => {
            (ErrorCode::TooLarge, "the request body is over the limit")
        }
        StatusCode::METHOD_NOT_ALLOWED => {
            (ErrorCode::BadRequest, "this call does not take that method")
        }
        s if s.is_client_error() => (ErrorCode::BadRequest, "the request is malformed"),
        _ => (ErrorCode::Internal, "the server failed"),
    };
    let message = if text.is_empty() {
        fallback.to_string()
    } else {
        text
    };
    // The status stays axum's (405 is not a 400); the body is the API's.
    let body = serde_json::json!({ "error": AppError::new(code, message).view() });
    (status, Json(body)).into_response()
}

/// One command: the body is its JSON arguments (or, for an upload, the raw bytes); the answer
/// is JSON, or for a download the raw bytes with their media type.
async fn command(
    State(c): State<Ctx>,
    Path(name): Path<String>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let kind = rookery_app::COMMANDS
        .iter()
        .find(|c| c.name == name)
        .map(|c| c.kind);
    let given = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let is = |t: &str| given.split(';').next().is_some_and(|g| g.trim() == t);
    let fits = match kind {
        Some(rookery_app::Kind::Upload) => {
            is("application/octet-stream") || given.starts_with("image/")
        }
        // An empty body is no arguments, whatever it says it is.
        _ => body.is_empty() || is("application/json"),
    };
    if !fits {
        let mut res = api_error(
            ErrorCode::BadRequest,
            "the body must be JSON (content-type: application/json), or bytes for an upload",
        )
        .into_response();
        *res.status_mut() = StatusCode::UNSUPPORTED_MEDIA_TYPE;
        return Ok(res);
    }
    let run = rookery_app::dispatch(&c.app, &name, &body);
    let reply = tokio::time::timeout(COMMAND_TIMEOUT, run)
        .await
        .map_err(|_| api_error(ErrorCode::Network, "the node took too long to answer"))??;
    Ok(match reply {
        Reply::Json(v) => Json(v).into_response(),
        Reply::Bytes { bytes, mime } => ([(header::CONTENT_TYPE, mime)], bytes).into_response(),
    })
}

/// The node's events as server-sent events, one JSON `Event` per message. A client that
/// falls behind has its stream ended: `EventSource` reconnects, and the UI reloads what it
/// shows on reconnecting, so nothing missed stays missing.
async fn events(State(c): State<Ctx>) -> impl IntoResponse {
    let events = c.app.events();
    let stream = futures_util::stream::unfold(events, |mut events| async move {
        match events.next().await {
            rookery_app::Next::Event(e) => {
                let data = serde_json::to_string(&e).unwrap_or_default();
                let sse = SseEvent::default().data(data);
                Some((Ok::<_, std::convert::Infallible>(sse), events))
            }
            rookery_app::Next::Missed(_) | rookery_app::Next::Closed => None,
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

//! `rookery-desktop`: the Tauri 2 shell. It starts the node in the app's tokio runtime (data in
//! the platform data directory, shared with the `rookery` command), forwards the node's events
//! to the window as `node-event`, shows desktop notifications of new mentions and replies while
//! the window is not focused, and exposes the UI's API (`docs/api.md`) as commands, generated
//! from the one command table of `rookery-app`: each a line over `rookery_app::App`; no logic
//! lives here.
//!
//! Flags: `--demo` starts the demo network, `--offline` keeps to direct addresses (no relays).
//! `ROOKERY_DATA_DIR` overrides the data directory.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::path::PathBuf;
use std::sync::Arc;

use rookery_app::view::{ContentView, Event, NotificationKind};
use rookery_app::{App, AppOptions, ErrorView, Next};
use rookery_node::Node;
use tauri::{Emitter, Manager, State};
use tauri_plugin_notification::NotificationExt;

type Api<'a> = State<'a, Arc<App>>;

/// One Tauri command per entry of the command table (`rookery_app::with_commands!`), each a
/// line over `App`: JSON arguments as `args`; an upload's raw bytes as the IPC body; a
/// download's bytes as a raw IPC answer.
macro_rules! tauri_commands {
    ($(
        $(#[doc = $doc:literal])*
        $(@$kind:ident)? $name:ident($args:ident {
            $( $(#[doc = $fdoc:literal])* $field:ident : $fty:ty ),* $(,)?
        }) -> $ret:ty;
    )*) => {
        /// The generated commands.
        mod commands {
            use super::*;
            $( command!($($kind)?; $name, $args, $ret); )*

            /// The handler that routes every command.
            pub(super) fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
                tauri::generate_handler![$($name),*]
            }
        }
    };
}

macro_rules! command {
    (; $name:ident, $args:ident, $ret:ty) => {
        #[tauri::command]
        async fn $name(app: Api<'_>, args: rookery_app::args::$args) -> Result<$ret, ErrorView> {
            app.$name(args).await.map_err(|e| e.view())
        }
    };
    (upload; $name:ident, $args:ident, $ret:ty) => {
        #[tauri::command]
        async fn $name(app: Api<'_>, request: tauri::ipc::Request<'_>) -> Result<$ret, ErrorView> {
            let tauri::ipc::InvokeBody::Raw(bytes) = request.body() else {
                let e = rookery_app::AppError::bad_request("this call takes the bytes as its body");
                return Err(e.view());
            };
            let args = rookery_app::args::$args::default();
            app.$name(args, bytes.clone()).await.map_err(|e| e.view())
        }
    };
    (download; $name:ident, $args:ident, $ret:ty) => {
        #[tauri::command]
        async fn $name(
            app: Api<'_>,
            args: rookery_app::args::$args,
        ) -> Result<tauri::ipc::Response, ErrorView> {
            let blob = app.$name(args).await.map_err(|e| e.view())?;
            Ok(tauri::ipc::Response::new(blob.bytes))
        }
    };
}

rookery_app::with_commands!(tauri_commands);

/// The data directory: `ROOKERY_DATA_DIR`, or the platform's (as the `rookery` command uses).
fn data_dir() -> Result<PathBuf, String> {
    if let Some(d) = std::env::var_os("ROOKERY_DATA_DIR") {
        return Ok(PathBuf::from(d));
    }
    dirs::data_dir()
        .map(|d| d.join("rookery"))
        .ok_or_else(|| "no platform data directory; set ROOKERY_DATA_DIR".to_string())
}

/// Forwards node events to the window; a new mention or reply becomes a desktop notification
/// when the window is not focused and notifications are on.
async fn forward(handle: tauri::AppHandle, app: Arc<App>) {
    let mut events = app.events();
    loop {
        let e = match events.next().await {
            Next::Event(e) => e,
            Next::Missed(_) => continue,
            Next::Closed => return,
        };
        if let Event::Notification { notification } = e.as_ref() {
            let focused = handle
                .get_webview_window("main")
                .and_then(|w| w.is_focused().ok())
                .unwrap_or(false);
            if !focused && app.notifies(notification.kind) {
                let who = notification
                    .message
                    .author_name
                    .clone()
                    .unwrap_or_else(|| "Someone".into());
                let title = match notification.kind {
                    NotificationKind::Reply => format!("{who} replied to your post"),
                    NotificationKind::Mention => format!("{who} mentioned you"),
                    NotificationKind::Follow => format!("{who} followed you"),
                };
                let body = match &notification.message.content {
                    ContentView::Post { text, .. } => text.chars().take(140).collect(),
                    _ => String::new(),
                };
                if let Err(err) = handle
                    .notification()
                    .builder()
                    .title(title)
                    .body(body)
                    .show()
                {
                    tracing::warn!("desktop notification failed: {err}");
                }
            }
        }
        if let Err(err) = handle.emit("node-event", &e) {
            tracing::warn!("forwarding an event failed: {err}");
        }
    }
}

fn main() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "rookery_node=info,rookery_desktop=info".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let args: Vec<String> = std::env::args().collect();
    let demo = args.iter().any(|a| a == "--demo");
    let offline = args.iter().any(|a| a == "--offline");
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(
            // The window only ever shows the app's own pages: links in posts go to the system
            // browser through the opener, and any other navigation is refused.
            tauri::plugin::Builder::<tauri::Wry>::new("navigation-guard")
                .on_navigation(|_, url| {
                    url.scheme() == "tauri" || url.host_str() == Some("tauri.localhost")
                })
                .build(),
        )
        .setup(move |tauri_app| {
            let dir = data_dir()?;
            let node = Node::open(&dir).map_err(|e| format!("opening {}: {e}", dir.display()))?;
            let options = AppOptions {
                offline,
                ..AppOptions::default()
            };
            let app = tauri::async_runtime::block_on(App::start(node, options))?;
            let app = Arc::new(app);
            tauri_app.manage(app.clone());
            tauri::async_runtime::spawn(forward(tauri_app.handle().clone(), app.clone()));
            if demo {
                tauri::async_runtime::spawn(async move {
                    if let Err(e) = app.start_demo(rookery_app::args::StartDemoArgs {}).await {
                        tracing::error!("the demo network did not start: {e}");
                    }
                });
            }
            Ok(())
        })
        .invoke_handler(commands::handler())
        .build(tauri::generate_context!());
    match result {
        Ok(app) => app.run(|handle, event| {
            if let tauri::RunEvent::Exit = event
                && let Some(app) = handle.try_state::<Arc<App>>()
            {
                tauri::async_runtime::block_on(app.shutdown());
            }
        }),
        Err(e) => {
            eprintln!("rookery-desktop: {e}");
            std::process::exit(1);
        }
    }
}

//! `rookery-desktop`: the Tauri 2 shell. It starts the node in the app's tokio runtime (data in
//! the platform data directory, shared with the `rookery` command), forwards the node's events
//! to the window as `node-event`, shows desktop notifications of new mentions and replies while
//! the window is not focused, and exposes the UI's API (`docs/api.md`) as commands. Every
//! command is a one-line adapter over `rookery_node::app::App`; no logic lives here.
//!
//! Flags: `--demo` starts the demo network, `--offline` keeps to direct addresses (no relays).
//! `ROOKERY_DATA_DIR` overrides the data directory.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::path::PathBuf;
use std::sync::Arc;

use rookery_node::api::{
    Event, KeyBackup, Me, MessageView, NotificationKind, Notifications, Page, Person, Profile,
    Settings, Status, Thread,
};
use rookery_node::app::{App, AppOptions};
use rookery_node::{Node, NodeError};
use serde::Serialize;
use tauri::{Emitter, Manager, State};
use tauri_plugin_notification::NotificationExt;

/// A command's error as the UI reads it: a stable code and a readable message.
#[derive(Debug, Serialize)]
struct ApiError {
    code: &'static str,
    message: String,
}

impl From<NodeError> for ApiError {
    fn from(e: NodeError) -> Self {
        ApiError {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

type Api<'a> = State<'a, Arc<App>>;
type R<T> = Result<T, ApiError>;

#[tauri::command]
async fn me(app: Api<'_>) -> R<Me> {
    Ok(app.me().await?)
}

#[tauri::command]
async fn timeline(app: Api<'_>, cursor: Option<String>, limit: Option<usize>) -> R<Page> {
    Ok(app.timeline(cursor.as_deref(), limit).await?)
}

#[tauri::command]
async fn author_feed(
    app: Api<'_>,
    key: String,
    cursor: Option<String>,
    limit: Option<usize>,
) -> R<Page> {
    Ok(app.author_feed(&key, cursor.as_deref(), limit).await?)
}

#[tauri::command]
async fn thread(app: Api<'_>, id: String) -> R<Thread> {
    Ok(app.thread(&id).await?)
}

#[tauri::command]
async fn profile(app: Api<'_>, key: String) -> R<Profile> {
    Ok(app.profile(&key).await?)
}

#[tauri::command]
async fn people(app: Api<'_>) -> R<Vec<Person>> {
    Ok(app.people().await?)
}

#[tauri::command]
async fn notifications(app: Api<'_>, limit: Option<usize>) -> R<Notifications> {
    Ok(app.notifications(limit).await?)
}

#[tauri::command]
async fn mark_read(app: Api<'_>, id: Option<String>, limit: Option<usize>) -> R<Notifications> {
    Ok(app.mark_read(id.as_deref(), limit).await?)
}

#[tauri::command]
async fn post(app: Api<'_>, text: String) -> R<MessageView> {
    Ok(app.post(&text).await?)
}

#[tauri::command]
async fn reply(app: Api<'_>, parent: String, text: String) -> R<MessageView> {
    Ok(app.reply(&parent, &text).await?)
}

#[tauri::command]
async fn follow(app: Api<'_>, address: String) -> R<Profile> {
    Ok(app.follow(&address).await?)
}

#[tauri::command]
async fn unfollow(app: Api<'_>, key: String) -> R<Profile> {
    Ok(app.unfollow(&key).await?)
}

#[tauri::command]
async fn block(app: Api<'_>, key: String) -> R<Profile> {
    Ok(app.block(&key).await?)
}

#[tauri::command]
async fn delete_message(app: Api<'_>, id: String) -> R<()> {
    Ok(app.delete(&id).await?)
}

#[tauri::command]
async fn set_profile(app: Api<'_>, name: String, bio: String) -> R<Profile> {
    Ok(app.set_profile(&name, &bio).await?)
}

#[tauri::command]
async fn set_avatar(app: Api<'_>, bytes: Vec<u8>) -> R<Profile> {
    Ok(app.set_avatar(&bytes).await?)
}

#[tauri::command]
async fn blob(app: Api<'_>, hash: String) -> R<Vec<u8>> {
    Ok(app.blob(&hash).await?.0)
}

#[tauri::command]
async fn status(app: Api<'_>) -> R<Status> {
    Ok(app.status().await?)
}

#[tauri::command]
async fn settings(app: Api<'_>) -> R<Settings> {
    Ok(app.settings().await?)
}

#[tauri::command]
async fn set_settings(
    app: Api<'_>,
    relays: Option<bool>,
    notifications: Option<bool>,
) -> R<Settings> {
    Ok(app.set_settings(relays, notifications).await?)
}

#[tauri::command]
async fn export_key(app: Api<'_>) -> R<KeyBackup> {
    Ok(app.export_key().await?)
}

#[tauri::command]
async fn start_demo(app: Api<'_>) -> R<()> {
    Ok(app.start_demo().await?)
}

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
    let mut events = app.subscribe();
    loop {
        let e = match events.recv().await {
            Ok(e) => e,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        };
        if let Event::Notification { notification } = &e {
            let focused = handle
                .get_webview_window("main")
                .and_then(|w| w.is_focused().ok())
                .unwrap_or(false);
            if !focused && app.notifications_on() {
                let who = notification
                    .message
                    .author_name
                    .clone()
                    .unwrap_or_else(|| "Someone".into());
                let title = match notification.kind {
                    NotificationKind::Reply => format!("{who} replied to your post"),
                    NotificationKind::Mention => format!("{who} mentioned you"),
                };
                let body = match &notification.message.content {
                    rookery_node::api::ContentView::Post { text, .. } => {
                        text.chars().take(140).collect()
                    }
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
                    if let Err(e) = app.start_demo().await {
                        tracing::error!("the demo network did not start: {e}");
                    }
                });
            }
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            me,
            timeline,
            author_feed,
            thread,
            profile,
            people,
            notifications,
            mark_read,
            post,
            reply,
            follow,
            unfollow,
            block,
            delete_message,
            set_profile,
            set_avatar,
            blob,
            status,
            settings,
            set_settings,
            export_key,
            start_demo,
        ])
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

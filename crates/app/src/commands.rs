//! The UI's operations, each defined once, in [`with_commands!`]: its name, its arguments and
//! what it returns. From that one table come the argument structs ([`crate::args`]), the
//! dispatcher behind `POST /api/{command}` ([`dispatch`]), the Tauri commands (src-tauri
//! expands the same table with its own macro), the TypeScript types and the command map of the
//! UI ([`typescript`]), and the command table of `docs/api.md` ([`markdown_table`]). A test
//! fails when the generated files drift from the table.
//!
//! An entry is `name(ArgsStruct { field: Type, ... }) -> Return;`, with doc comments. Two
//! markers change how bytes travel: `@upload` (the request's body is the raw bytes, handed to
//! the method after the arguments) and `@download` (the method returns a [`crate::view::Blob`],
//! sent as raw bytes with its media type).

use serde::Serialize;
use ts_rs::{Config, TS};

use crate::{App, AppError};

/// The table of commands. `with_commands!(m)` expands to `m! { entries }`, so any adapter can
/// generate its entry points from the one list.
#[macro_export]
macro_rules! with_commands {
    ($m:ident) => {
        $m! {
            /// Who I am: my key, my ticket and my profile.
            me(MeArgs {}) -> $crate::view::Me;
            /// The home timeline, newest first, a page at a time.
            timeline(TimelineArgs {
                /// Where the page starts (the `next_cursor` of the page before).
                cursor: Option<String>,
                /// Posts per page (30 if absent, at most 200).
                limit: Option<u32>,
            }) -> $crate::view::Page;
            /// One author's posts, newest first.
            author_feed(AuthorFeedArgs {
                /// The author's key.
                key: String,
                /// Where the page starts.
                cursor: Option<String>,
                /// Posts per page.
                limit: Option<u32>,
            }) -> $crate::view::Page;
            /// The thread a message is in: its first post and every reply held.
            thread(ThreadArgs {
                /// Any message of the thread.
                id: String,
            }) -> $crate::view::Thread;
            /// An author's profile.
            profile(ProfileArgs {
                /// The key whose profile to show.
                key: String,
            }) -> $crate::view::Profile;
            /// Everyone known here, followed first: for autocomplete and the people list.
            people(PeopleArgs {}) -> Vec<$crate::view::Person>;
            /// Per followed author, the posts new since they were last marked seen.
            unread_counts(UnreadCountsArgs {}) -> Vec<$crate::view::Unread>;
            /// The latest notifications, read or not, and how many are unread.
            notifications(NotificationsArgs {
                /// How many (30 if absent, at most 200).
                limit: Option<u32>,
            }) -> $crate::view::Notifications;
            /// Marks one notification read; returns the latest `limit`.
            mark_notification_read(MarkNotificationReadArgs {
                /// The notification's message id.
                id: String,
                /// How many to return.
                limit: Option<u32>,
            }) -> $crate::view::Notifications;
            /// Marks every notification read; returns the latest `limit`.
            mark_all_read(MarkAllReadArgs {
                /// How many to return.
                limit: Option<u32>,
            }) -> $crate::view::Notifications;
            /// Marks one author (or everyone) seen: their unread count and notifications
            /// start again from now.
            mark_seen(MarkSeenArgs {
                /// Whose; everyone's if absent.
                key: Option<String>,
            }) -> ();
            /// Publishes a post; `@name` and `@key` in it mention someone.
            post(PostArgs {
                /// The post's text, in markdown.
                text: String,
            }) -> $crate::view::MessageView;
            /// Replies to a message, in its thread.
            reply(ReplyArgs {
                /// The message replied to.
                parent: String,
                /// The reply's text, in markdown.
                text: String,
            }) -> $crate::view::MessageView;
            /// Follows someone by key or ticket (and dials them); returns their profile.
            follow(FollowArgs {
                /// A key (64 hex digits) or a ticket.
                address: String,
            }) -> $crate::view::Profile;
            /// Stops following someone.
            unfollow(UnfollowArgs {
                /// The key to stop following.
                key: String,
            }) -> $crate::view::Profile;
            /// Blocks someone: their messages leave every view.
            block(BlockArgs {
                /// The key to block.
                key: String,
            }) -> $crate::view::Profile;
            /// Deletes one of my messages.
            delete_message(DeleteMessageArgs {
                /// The id of the message to delete (one of mine).
                id: String,
            }) -> ();
            /// Sets my name and bio, keeping my avatar.
            set_profile(SetProfileArgs {
                /// Display name.
                name: String,
                /// A few lines about me.
                bio: Option<String>,
            }) -> $crate::view::Profile;
            /// Sets my avatar (the request's body is the image), keeping name and bio.
            @upload set_avatar(SetAvatarArgs {}) -> $crate::view::Profile;
            /// An image by its hash, fetched from the sessions if it is not here yet.
            @download blob(BlobArgs {
                /// The image's BLAKE3 hash.
                hash: String,
            }) -> $crate::view::Blob;
            /// Sessions and what is being fetched.
            status(StatusArgs {}) -> $crate::view::Status;
            /// The settings.
            settings(SettingsArgs {}) -> $crate::view::Settings;
            /// Changes settings; relays take effect at the next start.
            set_settings(SetSettingsArgs {
                /// Relays and discovery on or off.
                relays: Option<bool>,
                /// Desktop notifications on or off.
                notifications: Option<bool>,
            }) -> $crate::view::Settings;
            /// A backup of my secret key, as hex and as 24 words.
            export_key(ExportKeyArgs {}) -> $crate::view::KeyBackup;
            /// Starts the demo network (once): five local peers with history, followed by me.
            start_demo(StartDemoArgs {}) -> ();
        }
    };
}

/// What a command answers: JSON, or raw bytes with their media type.
#[derive(Debug)]
pub enum Reply {
    /// A JSON value.
    Json(serde_json::Value),
    /// Raw bytes.
    Bytes {
        /// The bytes, as they go on the wire.
        bytes: Vec<u8>,
        /// Their media type.
        mime: &'static str,
    },
}

impl Reply {
    fn json(v: &impl Serialize) -> Result<Reply, AppError> {
        serde_json::to_value(v)
            .map(Reply::Json)
            .map_err(|e| AppError::new(crate::ErrorCode::Internal, e.to_string()))
    }
}

/// How a command's input and output travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// JSON arguments, JSON answer.
    Json,
    /// The raw body is the input (after empty arguments); JSON answer.
    Upload,
    /// JSON arguments; raw bytes answer.
    Download,
}

/// One command of the table, described.
#[derive(Debug)]
pub struct Command {
    /// Its name (the Tauri command and the HTTP path).
    pub name: &'static str,
    /// What it does.
    pub doc: &'static str,
    /// How it travels.
    pub kind: Kind,
}

/// Arguments from a JSON body; an empty body is no arguments.
fn json_args<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    Ok(serde_json::from_slice(body)?)
}

fn ts_config() -> Config {
    Config::new().with_large_int("number")
}

/// The TypeScript form of a type, for the generated file.
fn ts_name<T: TS + ?Sized>() -> String {
    <T as TS>::name(&ts_config())
}

macro_rules! kind {
    () => {
        Kind::Json
    };
    (upload) => {
        Kind::Upload
    };
    (download) => {
        Kind::Download
    };
}

macro_rules! call {
    (; $app:ident, $name:ident, $args:ty, $body:ident) => {{
        let a: $args = json_args($body)?;
        Reply::json(&$app.$name(a).await?)
    }};
    (upload; $app:ident, $name:ident, $args:ty, $body:ident) => {{ Reply::json(&$app.$name(<$args>::default(), $body.to_vec()).await?) }};
    (download; $app:ident, $name:ident, $args:ty, $body:ident) => {{
        let a: $args = json_args($body)?;
        let b = $app.$name(a).await?;
        Ok(Reply::Bytes {
            bytes: b.bytes,
            mime: b.mime,
        })
    }};
}

macro_rules! ts_entry {
    ($name:ident, $args:ty, $ret:ty) => {
        format!(
            "  {}: {{ args: {}; ret: {} }};",
            stringify!($name),
            ts_name::<$args>(),
            ts_name::<$ret>()
        )
    };
    ($name:ident, $args:ty, $ret:ty, upload) => {
        format!(
            "  {}: {{ args: {}; body: Uint8Array; ret: {} }};",
            stringify!($name),
            ts_name::<$args>(),
            ts_name::<$ret>()
        )
    };
    ($name:ident, $args:ty, $ret:ty, download) => {
        format!(
            "  {}: {{ args: {}; ret: Uint8Array }};",
            stringify!($name),
            ts_name::<$args>()
        )
    };
}

macro_rules! define {
    ($(
        $(#[doc = $doc:literal])*
        $(@$kind:ident)? $name:ident($args:ident {
            $( $(#[doc = $fdoc:literal])* $field:ident : $fty:ty ),* $(,)?
        }) -> $ret:ty;
    )*) => {
        /// The arguments of each command, generated from the table.
        pub mod args {
            use serde::Deserialize;
            use ts_rs::TS;
            $(
                $(#[doc = $doc])*
                #[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, TS)]
                #[serde(deny_unknown_fields)]
                #[ts(optional_fields = nullable)]
                pub struct $args {
                    $( $(#[doc = $fdoc])* pub $field: $fty, )*
                }
            )*
        }

        /// Every command, in the table's order.
        pub const COMMANDS: &[Command] = &[
            $( Command {
                name: stringify!($name),
                doc: concat!($($doc),*),
                kind: kind!($($kind)?),
            }, )*
        ];

        /// Runs command `name` with a request `body`: JSON arguments (an empty body is none),
        /// or for an upload the raw bytes.
        pub async fn dispatch(app: &App, name: &str, body: &[u8]) -> Result<Reply, AppError> {
            match name {
                $( stringify!($name) => call!($($kind)?; app, $name, args::$args, body), )*
                _ => Err(AppError::new(crate::ErrorCode::NotFound, "no such API call")),
            }
        }

        /// The entries of the UI's command map: each command's arguments and answer.
        fn command_map() -> Vec<String> {
            vec![ $( ts_entry!($name, args::$args, $ret $(, $kind)?), )* ]
        }

        /// The declarations of every argument struct.
        fn args_decls() -> Vec<String> {
            vec![ $( decl::<args::$args>(), )* ]
        }
    };
}

with_commands!(define);

/// A type's declaration, exported, with its doc comment.
fn decl<T: TS + 'static>() -> String {
    let cfg = ts_config();
    let docs = T::docs()
        .map(|d| format!("{}\n", d.trim_end()))
        .unwrap_or_default();
    format!("{docs}export {}", T::decl(&cfg))
}

/// The UI's generated TypeScript: every view type, every argument struct, and the command map
/// (`Commands`), which types the UI's one `api.ts`.
pub fn typescript() -> String {
    use crate::error::{ErrorCode, ErrorView};
    use crate::view::*;
    let mut out = vec![
        "// Generated from rookery-app's view types and command table by".to_string(),
        "// `UPDATE=1 cargo test -p rookery-app --test generated`. Do not edit.".to_string(),
        String::new(),
    ];
    let views = [
        decl::<MessageView>(),
        decl::<ContentView>(),
        decl::<Page>(),
        decl::<Thread>(),
        decl::<Profile>(),
        decl::<Person>(),
        decl::<Unread>(),
        decl::<NotificationKind>(),
        decl::<Notification>(),
        decl::<Notifications>(),
        decl::<PeerView>(),
        decl::<Me>(),
        decl::<Status>(),
        decl::<Settings>(),
        decl::<KeyBackup>(),
        decl::<Event>(),
        decl::<ErrorCode>(),
        decl::<ErrorView>(),
    ];
    out.extend(views);
    out.extend(args_decls());
    out.push(
        "/** Every command: its arguments, its raw body if it takes one, and its answer. */".into(),
    );
    out.push("export type Commands = {".into());
    out.extend(command_map());
    out.push("};".into());
    out.join("\n") + "\n"
}

/// The command table of `docs/api.md`.
pub fn markdown_table() -> String {
    let mut out = String::from("| command | takes | returns | what it does |\n|---|---|---|---|\n");
    let map = command_map();
    for (c, entry) in COMMANDS.iter().zip(map) {
        // `  name: { args: A; ret: R };` → A, R
        let args = entry
            .split("args: ")
            .nth(1)
            .and_then(|s| s.split(';').next());
        let ret = entry
            .split("ret: ")
            .nth(1)
            .and_then(|s| s.split(' ').next());
        let takes = match c.kind {
            Kind::Upload => format!("`{}` + raw body", args.unwrap_or("")),
            _ => format!("`{}`", args.unwrap_or("")),
        };
        let doc = c.doc.trim();
        out.push_str(&format!(
            "| `{}` | {} | `{}` | {} |\n",
            c.name,
            takes,
            ret.unwrap_or(""),
            doc
        ));
    }
    out
}

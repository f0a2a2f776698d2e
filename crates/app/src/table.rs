//! The machinery the command table (`commands.rs`) drives: from the one list come the argument
//! structs ([`crate::args`]), the dispatcher behind `POST /api/{command}` ([`dispatch`]), the
//! UI's TypeScript types and command map ([`typescript`]) and the command table of
//! `docs/api.md` ([`markdown_table`]). src-tauri expands the same table with its own macro
//! into Tauri commands. A test fails when the generated files drift from the table.

use serde::Serialize;
use ts_rs::{Config, TS};

use crate::{App, AppError};

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

crate::with_commands!(define);

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
        decl::<Muted>(),
        decl::<MutedThread>(),
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

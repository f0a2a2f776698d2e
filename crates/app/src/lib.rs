//! Rookery's UI API: what the desktop shell, `rookery serve --http`, the command line and the
//! UI tests call.
//!
//! - [`view`]: the types the UI sees, converted from the node's domain types here and nowhere
//!   else; [`hex`]: the text forms of ids (the only place ids become text for people).
//! - [`App`]: the node, online or not, with one method per command.
//! - [`commands`]: the table of commands ([`with_commands!`]) and what is generated from it — the
//!   argument structs ([`args`]), the HTTP dispatcher, the UI's TypeScript types, the table of
//!   `docs/api.md` — so each operation is defined once.
//! - [`AppError`]: a stable [`ErrorCode`] and a readable message.
//! - the demo network (`demo.rs`): five local peers with history, for a newcomer's first minute.
#![warn(missing_docs)]
#![deny(unreachable_pub)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod app;
pub mod commands;
mod demo;
mod error;
pub mod hex;
pub mod view;

pub use app::{App, AppOptions, Events, Next, image_type};
pub use commands::{COMMANDS, Command, Kind, Reply, args, dispatch};
pub use error::{AppError, ErrorCode, ErrorView};

//! Rookery's UI API: what the desktop shell, `rookery serve --http`, the command line and the
//! UI tests call.
//!
//! - [`view`]: the types the UI sees, converted from the node's domain types here and nowhere
//!   else; [`hex`]: the text forms of ids (the only place ids become text for people).
//! - [`App`] (`app.rs`): the node, online or not; `commands.rs`: the table of commands
//!   ([`with_commands!`]) and, beside it, each command's method on `App` — so each operation is
//!   defined in one place; [`table`]: what is generated from the table — the argument structs
//!   ([`args`]), the HTTP dispatcher, the UI's TypeScript types, the table of `docs/api.md`.
//! - [`AppError`]: a stable [`ErrorCode`] and a readable message.
//! - the demo network (`demo.rs`): five local peers with history, for a newcomer's first minute.
#![warn(missing_docs)]
#![deny(unreachable_pub)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod app;
mod commands;
mod demo;
mod error;
pub mod hex;
pub mod table;
pub mod view;

pub use app::{App, AppOptions, Events, Next};
pub use error::{AppError, ErrorCode, ErrorView};
pub use table::{COMMANDS, Command, Kind, Reply, args, dispatch};

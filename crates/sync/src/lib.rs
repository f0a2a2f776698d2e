//! Rookery's sync protocol, `rookery/sync/2`, over iroh.
//!
//! - [`wire`]: requests and responses, their limits, close codes, length-prefixed postcard
//!   frames with a hard size cap, the version handshake.
//! - [`verify`]: pure checks of every answer (heads, range proofs, node streams, bodies).
//! - [`server`]: answers a peer's requests from the store (for every author held), within a
//!   per-connection budget kept apart from the answers; [`server::SyncProtocol`] plugs it into
//!   iroh's `Router`.
//! - [`client`]: asks, and runs the verifier on every frame before the caller may store it.
//! - [`net`]: endpoints (online with relays and discovery, or loopback-only for tests) and
//!   tickets.
#![warn(missing_docs)]
#![deny(unreachable_pub)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod client;
pub mod net;
pub mod server;
pub mod verify;
pub mod wire;

pub use client::{Client, ClientError, CountersSnapshot, FirstPage, Rejection, Subscription};
pub use net::{NetOptions, Ticket, bind_endpoint, transport_config};
pub use server::{Limits, Server, SyncProtocol, close};
pub use verify::{Batch, Fault, PageAnswer, Pushed, RangeAnswer};
pub use wire::{ALPN, CatchUpAsk};

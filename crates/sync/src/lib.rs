//! Rookery's sync protocol, `rookery/sync/1`, over iroh.
//!
//! - [`wire`]: requests and responses, their limits, length-prefixed postcard frames with a
//!   hard size cap, the version handshake.
//! - [`server`]: answers a peer's requests from the store (for every author held), within a
//!   per-connection budget; [`server::SyncProtocol`] plugs it into iroh's `Router`.
//! - [`client`]: asks, and verifies every answer before the caller may store it.
//! - [`net`]: endpoints (online with relays and discovery, or loopback-only for tests) and
//!   tickets.
#![deny(missing_docs, unreachable_pub)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod client;
pub mod net;
pub mod server;
pub mod wire;

pub use client::{Batch, Client, ClientError, CountersSnapshot, RangeAnswer, Subscription};
pub use net::{NetOptions, Ticket, bind_endpoint};
pub use server::{Limits, Server, SyncProtocol};
pub use wire::ALPN;

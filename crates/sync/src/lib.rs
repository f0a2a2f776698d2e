//! Rookery's sync protocol, `rookery/sync/1`. This far: the wire format ([`wire`]): requests
//! and responses, their limits, and length-prefixed postcard frames with a hard size cap. The
//! server and client over iroh's `Router` build on it.
#![deny(missing_docs, unreachable_pub)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod wire;

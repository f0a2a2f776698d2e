//! Rookery's feeds, with no database and no network: who you are (an ed25519 key pair, the same
//! key as the iroh endpoint id), what you publish (signed messages), how each author's indexes
//! are keyed and changed by each message, and the signed head that names an author's latest
//! index roots.
//!
//! Formats: a signed message is `postcard(Message) ‖ signature(64 bytes)`, the signature made
//! over `MESSAGE_DOMAIN ‖ postcard(Message)`; its id is the blake3 hash of those signed bytes.
//! A signed head is the same with `Head` and `HEAD_DOMAIN`. Decoders accept only the canonical
//! encoding (what the encoder would write), so one message has one id.
#![warn(missing_docs)]
#![deny(unreachable_pub)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod error;
mod head;
mod id;
mod index;
mod known;
pub mod limits;
mod message;

pub use error::FeedError;
pub use head::{Head, HeadUpdate, Roots, SignedHead};
pub use id::MessageId;
pub use index::{Index, IndexEdits, index_edits, keys, own_entries};
pub use iroh_base::{PublicKey, SecretKey, Signature};
#[doc(hidden)]
pub use known::forget as forget_checked_keys;
pub use known::key as public_key;
pub use message::{About, Content, Message, Post, Reply, SignedMessage};

//! Serving policy, apart from answering: how much one connection may ask (requests and bytes per
//! minute, requests in flight, subscriptions, time per request), and what going over means.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::wire::{CLOSE_OVER_BUDGET, CLOSE_PROTOCOL};

/// How much one peer may ask of us, and how long either side waits.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Connections served at once, across all peers; one more is closed at once.
    pub max_connections: usize,
    /// Answer frames (each at most [`crate::wire::MAX_FRAME`], mostly about 1 MiB) being built
    /// or sent at once, across every connection: what bounds the memory answers take.
    pub max_answer_frames: usize,
    /// Requests in flight on one connection (subscriptions not counted).
    pub max_in_flight: usize,
    /// Subscriptions open on one connection; a new one beyond this ends the oldest.
    pub max_subscriptions: usize,
    /// Requests per minute on one connection.
    pub max_requests_per_minute: u32,
    /// Response bytes per minute on one connection.
    pub max_bytes_per_minute: u64,
    /// The time a peer has to send a whole request, and we to answer it.
    pub request_timeout: Duration,
    /// The time we wait for each frame of an answer from a peer.
    pub response_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 256,
            max_answer_frames: 32,
            max_in_flight: 32,
            max_subscriptions: 8,
            max_requests_per_minute: 20_000,
            max_bytes_per_minute: 1 << 30,
            request_timeout: Duration::from_secs(30),
            response_timeout: Duration::from_secs(20),
        }
    }
}

/// Why a connection is ended from our side: a close code and a reason the peer can log.
#[derive(Debug)]
pub(crate) struct Violation {
    pub(crate) code: u32,
    pub(crate) reason: String,
}

impl Violation {
    /// The peer broke the protocol.
    pub(crate) fn protocol(reason: impl Into<String>) -> Self {
        Violation {
            code: CLOSE_PROTOCOL,
            reason: reason.into(),
        }
    }

    /// The peer used more than its share.
    pub(crate) fn budget(reason: impl Into<String>) -> Self {
        Violation {
            code: CLOSE_OVER_BUDGET,
            reason: reason.into(),
        }
    }
}

/// One connection's use of its budget, in windows of a minute.
#[derive(Debug)]
pub(crate) struct Budget {
    limits: Limits,
    used: Mutex<Used>,
}

#[derive(Debug)]
struct Used {
    window: Instant,
    requests: u32,
    bytes: u64,
}

impl Budget {
    /// A fresh budget under `limits`.
    pub(crate) fn new(limits: Limits) -> Self {
        Budget {
            limits,
            used: Mutex::new(Used {
                window: Instant::now(),
                requests: 0,
                bytes: 0,
            }),
        }
    }

    /// Counts `requests` and `bytes` against this minute's share; an error once over it.
    pub(crate) fn charge(&self, requests: u32, bytes: u64) -> Result<(), Violation> {
        let mut u = self.used.lock().unwrap_or_else(|e| e.into_inner());
        if u.window.elapsed() >= Duration::from_secs(60) {
            *u = Used {
                window: Instant::now(),
                requests: 0,
                bytes: 0,
            };
        }
        u.requests = u.requests.saturating_add(requests);
        u.bytes = u.bytes.saturating_add(bytes);
        if u.requests > self.limits.max_requests_per_minute {
            return Err(Violation::budget("too many requests"));
        }
        if u.bytes >= self.limits.max_bytes_per_minute {
            return Err(Violation::budget("too many bytes asked for"));
        }
        Ok(())
    }
}

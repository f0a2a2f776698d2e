//! The answering side of `rookery/sync/2`: one task per QUIC stream, each stream one request.
//!
//! A peer answers for every author it holds, not only itself. What a connection may ask is
//! `budget.rs`'s to decide (requests and bytes per minute, requests in flight, time per
//! request); what the answer is, `answer.rs`'s. A peer that goes over its budget, sends a
//! malformed frame or asks for more than a request may ask is disconnected with a close code,
//! and its requests in flight end with the connection.
//!
//! **Bounds (memory per connection and in all):** a request frame is at most
//! [`crate::wire::MAX_REQUEST_FRAME`] (64 KiB) and a connection has at most
//! [`Limits::max_in_flight`] requests in flight, so partial requests buffer at most 2 MiB per
//! connection; at most [`Limits::max_connections`] connections are served at once. Answers are
//! made lazily, a frame at a time (64 KiB first, growing to about 1 MiB:
//! [`crate::wire::frame_target`]).

mod answer;
mod budget;
mod push;

pub use budget::Limits;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use iroh::endpoint::{Connection, RecvStream, SendStream, VarInt};
use iroh::protocol::{AcceptError, ProtocolHandler};
use rookery_feed::PublicKey;
use rookery_store::Store;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, broadcast, mpsc};

use answer::Answers;
use budget::{Budget, Violation};

use crate::wire::{
    CLOSE_NORMAL, CLOSE_OVER_BUDGET, CatchUpAsk, ErrorCode, Hello, KeyPrefix, PROTOCOL_VERSION,
    Request, Response, WireError, encode_frame, key_prefix, read_request_frame,
};

/// Ends a connection with a close code (see [`crate::wire`]) and a reason the peer can log.
pub fn close(conn: &Connection, code: u32, reason: &str) {
    conn.close(VarInt::from_u32(code), reason.as_bytes());
}

/// The state every connection's server shares: the store, the head-change feed, the limits.
#[derive(Debug)]
pub struct Server {
    answers: Answers,
    changes: broadcast::Sender<PublicKey>,
    limits: Limits,
    /// One permit per connection served.
    connections: Arc<Semaphore>,
    /// One permit per answer frame being built or sent.
    frames: Semaphore,
}

/// One connection's open subscriptions, oldest first.
type Subscriptions = Arc<Mutex<VecDeque<Arc<Notify>>>>;

impl Server {
    /// A server over `store`; `changes` carries the author of every head that changes (the
    /// node sends on it when it publishes or imports).
    pub fn new(store: Arc<Store>, changes: broadcast::Sender<PublicKey>, limits: Limits) -> Self {
        Server {
            answers: Answers::new(store),
            changes,
            connections: Arc::new(Semaphore::new(limits.max_connections.max(1))),
            frames: Semaphore::new(limits.max_answer_frames.max(1)),
            limits,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Answers the requests a peer opens on `conn` until it closes or breaks a rule.
    pub async fn serve(self: Arc<Self>, conn: Connection) {
        let Ok(_serving) = self.connections.clone().try_acquire_owned() else {
            close(&conn, CLOSE_OVER_BUDGET, "too many connections");
            return;
        };
        let in_flight = Arc::new(Semaphore::new(self.limits.max_in_flight));
        let subscriptions: Subscriptions = Arc::default();
        let budget = Arc::new(Budget::new(self.limits.clone()));
        let (violations, mut violated) = mpsc::unbounded_channel::<Violation>();
        loop {
            let (send, recv) = tokio::select! {
                s = conn.accept_bi() => match s {
                    Ok(s) => s,
                    Err(_) => return,
                },
                Some(v) = violated.recv() => {
                    tracing::info!(peer = %conn.remote_id().fmt_short(), reason = %v.reason, "disconnecting peer");
                    close(&conn, v.code, &v.reason);
                    return;
                }
            };
            if let Err(v) = budget.charge(1, 0) {
                close(&conn, v.code, &v.reason);
                return;
            }
            let Ok(permit) = in_flight.clone().try_acquire_owned() else {
                close(&conn, CLOSE_OVER_BUDGET, "too many requests in flight");
                return;
            };
            let this = self.clone();
            let (budget, violations, subscriptions) =
                (budget.clone(), violations.clone(), subscriptions.clone());
            tokio::spawn(async move {
                let r = this
                    .stream(send, recv, &budget, &subscriptions, permit)
                    .await;
                if let Err(v) = r {
                    let _ = violations.send(v);
                }
            });
        }
    }

    /// One stream: hello, one request, its answer.
    async fn stream(
        &self,
        mut send: SendStream,
        mut recv: RecvStream,
        budget: &Budget,
        subscriptions: &Subscriptions,
        permit: OwnedSemaphorePermit,
    ) -> Result<(), Violation> {
        let read = async {
            let hello: Hello = read_request_frame(&mut recv).await?;
            if hello.version != PROTOCOL_VERSION {
                return Ok::<_, WireError>(Err(hello.version));
            }
            let req: Request = read_request_frame(&mut recv).await?;
            Ok(Ok(req))
        };
        let req = match tokio::time::timeout(self.limits.request_timeout, read).await {
            Err(_) => return Err(Violation::budget("request took too long")),
            Ok(Err(WireError::Closed | WireError::Io(_))) => return Ok(()),
            Ok(Err(e)) => return Err(Violation::protocol(e.to_string())),
            Ok(Ok(Err(version))) => {
                let _ = write(&mut send, &hello()).await;
                let refusal = answer::error(
                    ErrorCode::Version,
                    &format!("protocol version {version} is not spoken here"),
                );
                let _ = write(&mut send, &refusal).await;
                let _ = send.finish();
                return Ok(());
            }
            Ok(Ok(Ok(req))) => req,
        };
        req.check()
            .map_err(|e| Violation::protocol(format!("bad request: {e}")))?;
        let _ = recv.stop(VarInt::from_u32(CLOSE_NORMAL));
        // Fails only on a stream already closed, which the write below finds out.
        let _ = send.set_priority(req.priority());
        if write(&mut send, &hello()).await.is_err() {
            // The asker gave up on this request (it may, e.g. when it re-subscribes).
            return Ok(());
        }
        if let Request::Subscribe {
            authors,
            page,
            catch_up,
        } = req
        {
            // A subscription is long-lived: it does not hold a request slot.
            drop(permit);
            let ask = Ask {
                authors,
                page,
                catch_up,
            };
            self.subscription(send, ask, subscriptions).await;
            return Ok(());
        }
        let answer = async {
            let mut frames = self.answers.answer(req);
            loop {
                // Answer frames in memory at once, across every connection, are capped.
                let Ok(_building) = self.frames.acquire().await else {
                    return Ok(());
                };
                let Some(frame) = frames.next() else {
                    break;
                };
                // A peer over its byte budget gets no further frame; the frames sent so far
                // are delivered before the connection is closed (they are verified data the
                // peer can keep).
                if let Err(v) = budget.charge(0, 0) {
                    let _ = send.finish();
                    let _ = tokio::time::timeout(Duration::from_secs(5), send.stopped()).await;
                    return Err(v);
                }
                let bytes = encode_frame(&frame).map_err(|e| Violation::protocol(e.to_string()))?;
                drop(frame);
                if send.write_all(&bytes).await.is_err() {
                    return Ok(());
                }
                let _ = budget.charge(0, bytes.len() as u64);
            }
            let _ = send.finish();
            Ok(())
        };
        let r = match tokio::time::timeout(self.limits.request_timeout, answer).await {
            Err(_) => Err(Violation::budget("answer took too long to take")),
            Ok(r) => r,
        };
        drop(permit);
        r
    }

    /// A subscription: where the authors are now, then every change until the peer goes away
    /// or subscribes again beyond the limit (the oldest subscription ends, the connection
    /// stays: a peer re-subscribes when its follows change).
    async fn subscription(&self, mut send: SendStream, ask: Ask, subscriptions: &Subscriptions) {
        let Ask {
            authors,
            page,
            catch_up,
        } = ask;
        let cancel = Arc::new(Notify::new());
        {
            let mut subs = subscriptions.lock().unwrap_or_else(|e| e.into_inner());
            while subs.len() >= self.limits.max_subscriptions.max(1) {
                if let Some(old) = subs.pop_front() {
                    old.notify_one();
                }
            }
            subs.push_back(cancel.clone());
        }
        // Listening starts before the snapshot is read, so no change falls between the two.
        let changes = self.changes.subscribe();
        // What the asker has per author: pushes are only ever newer than that.
        let mut sent = Sent::new(&authors);
        let mut shown = Vec::new();
        // Heads that come with their catch-up, as `Head` frames after the first one.
        let mut with_catch_up = Vec::new();
        let now = match self.answers.heads(&authors) {
            Err(refusal) => refusal,
            Ok(held) => {
                let mut alone = Vec::new();
                for h in held {
                    let since = sent.last(&h.head().author).unwrap_or(0);
                    sent.set(h.head().author, h.head().seq);
                    let pushed = catch_up.map(|c| self.answers.catch_up(&h, since, &c));
                    match pushed {
                        Some(p) if !p.bodies.is_empty() => with_catch_up.push(head_frame(&h, p)),
                        _ => {
                            shown.push(h.head().clone());
                            alone.push(h.bytes().to_vec());
                        }
                    }
                }
                Response::Heads { heads: alone }
            }
        };
        // The first page across the people the asker holds nothing of, in the same round trip.
        let new: std::collections::HashSet<PublicKey> = shown
            .iter()
            .filter(|h| sent.asked.get(&key_prefix(&h.author)) == Some(&0))
            .map(|h| h.author)
            .collect();
        let feeds: Vec<_> = crate::verify::page_feeds(&shown, &new, page)
            .iter()
            .map(|h| (h.author, h.roots.messages))
            .collect();
        let first = async {
            write(&mut send, &now).await?;
            if !feeds.is_empty() {
                write(&mut send, &self.answers.page(&feeds, page)).await?;
            }
            for f in &with_catch_up {
                write(&mut send, f).await?;
            }
            Ok::<_, WireError>(())
        };
        if first.await.is_ok() {
            self.push_changes(send, sent, catch_up, changes, &cancel)
                .await;
        }
        subscriptions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|c| !Arc::ptr_eq(c, &cancel));
    }

    /// Sends each change of the heads in `sent` (author → the newest seq the asker has) until
    /// the peer goes away or `cancel` fires; never the same head twice (two changes in a row
    /// may read the same newest head).
    async fn push_changes(
        &self,
        mut send: SendStream,
        mut sent: Sent,
        catch_up: Option<CatchUpAsk>,
        mut changes: broadcast::Receiver<PublicKey>,
        cancel: &Notify,
    ) {
        loop {
            let author = tokio::select! {
                c = changes.recv() => match c {
                    Ok(a) => a,
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = send.stopped() => return,
                _ = cancel.notified() => {
                    let _ = send.finish();
                    return;
                }
            };
            let Some(last) = sent.last(&author) else {
                continue;
            };
            if let Ok(Some(h)) = self.answers.store().head(&author)
                && h.head().seq > last
                && !self.answers.blocked(&author)
            {
                let pushed = catch_up
                    .map(|c| self.answers.catch_up(&h, last, &c))
                    .unwrap_or_default();
                sent.set(author, h.head().seq);
                if write(&mut send, &head_frame(&h, pushed)).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// What a subscription has sent: the seq asked per key prefix, and the newest seq sent per
/// author since.
struct Sent {
    asked: HashMap<KeyPrefix, u64>,
    sent: HashMap<PublicKey, u64>,
}

impl Sent {
    fn new(authors: &[(KeyPrefix, u64)]) -> Self {
        Sent {
            asked: authors.iter().copied().collect(),
            sent: HashMap::new(),
        }
    }

    /// The newest seq the asker has of `author`, if it asked about them.
    fn last(&self, author: &PublicKey) -> Option<u64> {
        let asked = self.asked.get(&key_prefix(author))?;
        Some(self.sent.get(author).copied().unwrap_or(*asked))
    }

    fn set(&mut self, author: PublicKey, seq: u64) {
        self.sent.insert(author, seq);
    }
}

/// What a `Subscribe` asks.
struct Ask {
    authors: Vec<(KeyPrefix, u64)>,
    page: u32,
    catch_up: Option<CatchUpAsk>,
}

/// A `Head` frame: the head, and what is pushed with it.
fn head_frame(h: &rookery_feed::SignedHead, pushed: push::Pushed) -> Response {
    Response::Head {
        head: h.bytes().to_vec(),
        bodies: pushed.bodies,
        mentions: pushed.mentions,
    }
}

fn hello() -> Hello {
    Hello {
        version: PROTOCOL_VERSION,
    }
}

async fn write(send: &mut SendStream, r: &impl serde::Serialize) -> Result<(), WireError> {
    let bytes = encode_frame(r)?;
    send.write_all(&bytes)
        .await
        .map_err(|e| WireError::Io(std::io::Error::other(e)))
}

/// The `rookery/sync/2` protocol for iroh's router: every connection, accepted or dialled, is
/// handed to the node (so it can ask the peer too) and served.
#[derive(Debug, Clone)]
pub struct SyncProtocol {
    server: Arc<Server>,
    sessions: mpsc::UnboundedSender<Connection>,
}

impl SyncProtocol {
    /// The protocol over `server`; each accepted connection is also sent on `sessions`.
    pub fn new(server: Arc<Server>, sessions: mpsc::UnboundedSender<Connection>) -> Self {
        SyncProtocol { server, sessions }
    }
}

impl ProtocolHandler for SyncProtocol {
    async fn accept(&self, conn: Connection) -> Result<(), AcceptError> {
        let _ = self.sessions.send(conn.clone());
        self.server.clone().serve(conn).await;
        Ok(())
    }
}

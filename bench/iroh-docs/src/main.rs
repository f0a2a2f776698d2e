//! iroh-docs-peer: side-by-side benchmark of iroh-docs (range-based set reconciliation)
//! on loopback. Two nodes A and B in one process, relays and discovery off, in-memory stores.
//!
//! `iroh-docs-peer --posts N [--json]` prints one JSON object on stdout; logs go to stderr.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use futures_lite::StreamExt;
use iroh::{endpoint::presets, protocol::Router, Endpoint, EndpointAddr, RelayMode, SecretKey};
use iroh_blobs::{store::mem::MemStore, BlobsProtocol};
use iroh_docs::{
    api::{
        protocol::{AddrInfoOptions, ShareMode},
        Doc,
    },
    actor::{OpenOpts, SyncHandle},
    engine::{DefaultAuthorStorage, Engine, LiveEvent},
    protocol::Docs,
    store::{DownloadPolicy, Query},
    AuthorId, DocTicket, NamespaceId,
};
use iroh_gossip::net::Gossip;
use serde_json::{json, Value};
use tracing::{span, Instrument, Subscriber};
use tracing_subscriber::{layer::Context as LayerCtx, prelude::*, registry::LookupSpan, Layer};

// ---------------------------------------------------------------------------------------------
// Post generator (identical to the other bench peers)
// ---------------------------------------------------------------------------------------------

struct XorShift64Star(u64);
impl XorShift64Star {
    fn next(&mut self) -> u64 {
        let mut s = self.0;
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        self.0 = s;
        s.wrapping_mul(0x2545F4914F6CDD1D)
    }
    fn text_len(&mut self) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        40 + (560.0 * u.powf(2.5)).floor() as usize
    }
}

const SIG_META_OVERHEAD: usize = 150;
const BASE_TS_MS: u64 = 1_700_000_000_000;

/// Deterministic post generator: key = 8-byte BE timestamp_ms ++ 8-byte BE seq,
/// content = text (text_len bytes) ++ 150 bytes of signature/metadata stand-in.
struct Posts {
    rng: XorShift64Star,
    seq: u64,
}
impl Posts {
    fn new() -> Self {
        Self { rng: XorShift64Star(42), seq: 0 }
    }
    fn next(&mut self) -> ([u8; 16], Vec<u8>) {
        let text_len = self.rng.text_len();
        let seq = self.seq;
        self.seq += 1;
        let ts = BASE_TS_MS + seq * 1000;
        let mut key = [0u8; 16];
        key[..8].copy_from_slice(&ts.to_be_bytes());
        key[8..].copy_from_slice(&seq.to_be_bytes());
        let mut content = Vec::with_capacity(text_len + SIG_META_OVERHEAD);
        let filler = b"lorem ipsum dolor sit amet, consectetur adipiscing elit ";
        while content.len() < text_len {
            content.push(filler[content.len() % filler.len()]);
        }
        // signature/metadata stand-in: seq-dependent so every blob hash is distinct
        let mut x = seq.wrapping_mul(0x9E3779B97F4A7C15) | 1;
        for _ in 0..SIG_META_OVERHEAD {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            content.push(x as u8);
        }
        (key, content)
    }
}

// ---------------------------------------------------------------------------------------------
// Round-trip counting: a tracing layer that counts the sync-protocol messages iroh-docs sends.
//
// iroh_docs::net::codec::run_alice (the initiating side, run inside the live actor's "connect"
// span) emits `trace!("send init message")` and `trace!("send process message")` once per message
// it sends; every Alice message is answered by Bob (a reply message or the end of the stream), so
// the number of Alice messages in one session = request/response round trips of that session.
// Bob's side (`handle_connection`, "accept" span) emits "send process message" per reply.
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct RtStats {
    /// per "connect" span (one sync session initiated by this process): alice messages
    sessions: std::collections::HashMap<u64, u64>,
    next_session: u64,
    bob_msgs: u64,
    init_msgs: u64,
    unattributed: u64,
}

#[derive(Clone, Default)]
struct RtCounter(Arc<Mutex<RtStats>>);

struct SessionNo(u64);

impl RtCounter {
    fn reset(&self) {
        let mut s = self.0.lock().unwrap();
        s.sessions.clear();
        s.bob_msgs = 0;
        s.init_msgs = 0;
        s.unattributed = 0;
    }
    fn snapshot(&self) -> (Vec<u64>, u64) {
        let s = self.0.lock().unwrap();
        tracing::debug!(init = s.init_msgs, unattributed = s.unattributed, sessions = s.sessions.len(), "rt counter");
        (s.sessions.values().copied().collect(), s.bob_msgs)
    }
}

struct MsgVisitor(Option<String>);
impl tracing::field::Visit for MsgVisitor {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = Some(format!("{value:?}"));
        }
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.0 = Some(value.to_string());
        }
    }
}

impl<S> Layer<S> for RtCounter
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: LayerCtx<'_, S>) {
        if attrs.metadata().name() == "connect" {
            if let Some(span) = ctx.span(id) {
                let no = {
                    let mut s = self.0.lock().unwrap();
                    s.next_session += 1;
                    s.next_session
                };
                span.extensions_mut().insert(SessionNo(no));
            }
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: LayerCtx<'_, S>) {
        if event.metadata().target() != "iroh_docs::net::codec" {
            return;
        }
        let mut v = MsgVisitor(None);
        event.record(&mut v);
        let Some(msg) = v.0 else { return };
        if msg != "send init message" && msg != "send process message" {
            return;
        }
        if msg == "send init message" {
            self.0.lock().unwrap().init_msgs += 1;
        }
        let Some(scope) = ctx.event_scope(event) else {
            self.0.lock().unwrap().unattributed += 1;
            return;
        };
        for span in scope {
            match span.name() {
                "connect" => {
                    if let Some(SessionNo(no)) = span.extensions().get::<SessionNo>() {
                        *self.0.lock().unwrap().sessions.entry(*no).or_default() += 1;
                    }
                    return;
                }
                "accept" => {
                    self.0.lock().unwrap().bob_msgs += 1;
                    return;
                }
                _ => {}
            }
        }
        self.0.lock().unwrap().unattributed += 1;
    }

}

// ---------------------------------------------------------------------------------------------
// Nodes
// ---------------------------------------------------------------------------------------------

struct Node {
    name: &'static str,
    endpoint: Endpoint,
    router: Router,
    docs: Docs,
    /// handle to the node's replica store actor (what the engine uses for sync)
    sync: SyncHandle,
    _blobs: MemStore,
}

impl Node {
    async fn spawn(name: &'static str) -> Result<Self> {
        let sk = SecretKey::generate();
        let endpoint = Endpoint::builder(presets::Minimal)
            .relay_mode(RelayMode::Disabled)
            .clear_address_lookup()
            .clear_ip_transports()
            .bind_addr("127.0.0.1:0")?
            .secret_key(sk)
            .bind()
            .await?;
        let blobs = MemStore::new();
        let gossip = Gossip::builder().spawn(endpoint.clone());
        // Same as `Docs::memory().spawn(..)`, but keeps a handle to the replica store actor.
        let downloader = blobs.downloader(&endpoint);
        let engine = Engine::spawn(
            endpoint.clone(),
            gossip.clone(),
            iroh_docs::store::Store::memory(),
            (*blobs).clone(),
            downloader,
            DefaultAuthorStorage::Mem,
            None,
        )
        .await?;
        let sync = engine.sync.clone();
        let docs = Docs::new(engine);
        let router = Router::builder(endpoint.clone())
            .accept(iroh_blobs::ALPN, BlobsProtocol::new(&blobs, None))
            .accept(iroh_gossip::ALPN, gossip)
            .accept(iroh_docs::ALPN, docs.clone())
            .spawn();
        Ok(Self { name, endpoint, router, docs, sync, _blobs: blobs })
    }

    fn addr(&self) -> EndpointAddr {
        let mut addr = EndpointAddr::new(self.endpoint.id());
        for s in self.endpoint.bound_sockets() {
            addr = addr.with_ip_addr(s);
        }
        addr
    }

    /// (sent, received) UDP payload bytes of this endpoint's socket so far.
    fn udp_bytes(&self) -> (u64, u64) {
        let m = &self.endpoint.metrics().socket;
        (
            m.send_ipv4.get() + m.send_ipv6.get() + m.send_relay.get(),
            m.recv_data_ipv4.get() + m.recv_data_ipv6.get() + m.recv_data_relay.get(),
        )
    }

    async fn shutdown(self) {
        tracing::debug!("shutting down {}", self.name);
        self.router.shutdown().await.ok();
    }
}

/// Byte accounting between the two nodes. `counted` must be a node that talks only to `other`
/// during the measurement (A in most cases; the fresh B2 for full_sync): its socket send + receive
/// counters are then exactly the traffic between the two (UDP payload = QUIC packets).
struct ByteMeter<'a> {
    counted: &'a Node,
    other: &'a Node,
    counted_is_a: bool,
    c0: (u64, u64),
    o0: (u64, u64),
}
impl<'a> ByteMeter<'a> {
    fn start(counted: &'a Node, other: &'a Node, counted_is_a: bool) -> Self {
        Self { counted, other, counted_is_a, c0: counted.udp_bytes(), o0: other.udp_bytes() }
    }
    fn read(&self) -> Value {
        let c1 = self.counted.udp_bytes();
        let o1 = self.other.udp_bytes();
        let sent = c1.0 - self.c0.0;
        let recv = c1.1 - self.c0.1;
        let (a_to_b, b_to_a) = if self.counted_is_a { (sent, recv) } else { (recv, sent) };
        let other_total = (o1.0 - self.o0.0) + (o1.1 - self.o0.1);
        json!({
            "bytes": a_to_b + b_to_a,
            "bytes_a_to_b": a_to_b,
            "bytes_b_to_a": b_to_a,
            "bytes_counted_at": if self.counted_is_a { "A" } else { "B" },
            "bytes_seen_by_other_side": other_total,
        })
    }
}

fn merge(mut base: Value, extra: Value) -> Value {
    if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
        for (k, v) in e {
            b.insert(k, v);
        }
    }
    base
}

fn rt_fields(rt: &RtCounter) -> Value {
    let (sessions, bob_msgs) = rt.snapshot();
    let max = sessions.iter().copied().max();
    let total: u64 = sessions.iter().sum();
    json!({
        "round_trips": max,
        "sync_sessions": sessions.len(),
        "sync_round_trips_total": total,
        "sync_messages_total": total + bob_msgs,
    })
}

async fn fill_doc(doc: &Doc, author: AuthorId, posts: &mut Posts, n: usize) -> Result<Vec<[u8; 16]>> {
    let mut keys = Vec::with_capacity(n);
    for _ in 0..n {
        let (key, content) = posts.next();
        doc.set_bytes(author, key.to_vec(), content).await?;
        keys.push(key);
    }
    Ok(keys)
}

async fn count_entries(doc: &Doc) -> Result<usize> {
    let mut s = Box::pin(doc.get_many(Query::all()).await?);
    let mut n = 0;
    while let Some(e) = s.next().await {
        e?;
        n += 1;
    }
    Ok(n)
}

type EventStream = std::pin::Pin<Box<dyn futures_lite::Stream<Item = Result<LiveEvent>> + Send>>;

#[derive(Default, Clone)]
struct HubState {
    inserts: u64,
    last_insert_at: Option<Instant>,
    content_ready: u64,
    /// SyncFinished events with the peer, per doc: (ok, err)
    syncs: std::collections::HashMap<NamespaceId, (u64, u64)>,
}

/// Collects the live events of B's subscribed docs without ever applying backpressure
/// (each doc's subscription is drained by its own task straight into shared counters).
#[derive(Clone)]
struct EventHub {
    state: Arc<Mutex<HubState>>,
    notify: Arc<tokio::sync::Notify>,
    peer: iroh::PublicKey,
}

impl EventHub {
    fn new(peer: iroh::PublicKey) -> Self {
        Self { state: Default::default(), notify: Default::default(), peer }
    }

    fn attach(&self, ns: NamespaceId, mut s: EventStream) {
        let hub = self.clone();
        tokio::spawn(async move {
            while let Some(ev) = s.next().await {
                let ev = match ev {
                    Ok(ev) => ev,
                    Err(e) => {
                        tracing::warn!("subscription error: {e:#}");
                        break;
                    }
                };
                let now = Instant::now();
                {
                    let mut st = hub.state.lock().unwrap();
                    match &ev {
                        LiveEvent::InsertRemote { .. } => {
                            st.inserts += 1;
                            st.last_insert_at = Some(now);
                        }
                        LiveEvent::ContentReady { .. } => st.content_ready += 1,
                        LiveEvent::SyncFinished(se) if se.peer == hub.peer => {
                            let e = st.syncs.entry(ns).or_default();
                            match &se.result {
                                Ok(d) => {
                                    tracing::debug!(?ns, origin = ?se.origin, recv = d.entries_received, sent = d.entries_sent, "sync finished");
                                    e.0 += 1
                                }
                                Err(err) => {
                                    tracing::debug!(?ns, origin = ?se.origin, "sync finished with error: {err}");
                                    e.1 += 1
                                }
                            }
                        }
                        _ => {}
                    }
                }
                hub.notify.notify_waiters();
            }
        });
    }

    fn snapshot(&self) -> HubState {
        self.state.lock().unwrap().clone()
    }

    /// Waits until `cond(current, base)` holds; logs progress every 5 s.
    async fn wait(
        &self,
        what: &str,
        base: &HubState,
        timeout: Duration,
        cond: impl Fn(&HubState, &HubState) -> bool,
    ) -> Result<HubState> {
        let deadline = Instant::now() + timeout;
        let mut last_log = Instant::now();
        loop {
            let notified = self.notify.notified();
            let st = self.snapshot();
            if cond(&st, base) {
                return Ok(st);
            }
            if Instant::now() > deadline {
                bail!("timeout waiting for {what}: {} new entries", st.inserts - base.inserts);
            }
            if last_log.elapsed() > Duration::from_secs(5) {
                last_log = Instant::now();
                let synced = st.syncs.iter().filter(|(ns, c)| base.syncs.get(*ns).copied().unwrap_or_default() != **c).count();
                tracing::info!("waiting for {what}: {} new entries, {synced} docs with a new SyncFinished", st.inserts - base.inserts);
            }
            let _ = tokio::time::timeout(Duration::from_millis(100), notified).await;
        }
    }
}

/// Number of `docs` that saw a SyncFinished (ok / any result) with the peer since `base`.
fn synced_since(st: &HubState, base: &HubState, docs: &HashSet<NamespaceId>, ok_only: bool) -> usize {
    docs.iter()
        .filter(|ns| {
            let now = st.syncs.get(*ns).copied().unwrap_or_default();
            let before = base.syncs.get(*ns).copied().unwrap_or_default();
            if ok_only { now.0 > before.0 } else { now.0 + now.1 > before.0 + before.1 }
        })
        .count()
}

/// Waits until `want` new entries arrived on B (time of the last one) and then until every doc
/// in `docs` finished a sync session with A (time when observed; None if not within 60 s).
async fn wait_entries_and_syncs(
    hub: &EventHub,
    base: &HubState,
    t0: Instant,
    want: u64,
    docs: &HashSet<NamespaceId>,
    timeout: Duration,
) -> Result<(Duration, Option<Duration>, usize)> {
    let st = hub.wait("entries", base, timeout, |st, b| st.inserts - b.inserts >= want).await?;
    let t_entries = match (want, st.last_insert_at) {
        (0, _) | (_, None) => Duration::ZERO,
        (_, Some(t)) => t - t0,
    };
    let r = hub
        .wait("sync sessions", base, Duration::from_secs(60), |st, b| synced_since(st, b, docs, false) == docs.len())
        .await;
    let t_done = match r {
        Ok(_) => Some(t0.elapsed()),
        Err(e) => {
            tracing::warn!("{e:#}");
            None
        }
    };
    let synced = synced_since(&hub.snapshot(), base, docs, false);
    let content = hub.snapshot().content_ready - base.content_ready;
    if content > 0 {
        bail!("{content} blobs were downloaded although downloads are off");
    }
    Ok((t_entries, t_done, synced))
}

fn ms_opt(d: Option<Duration>) -> Value {
    d.map(|d| json!(ms(d))).unwrap_or(Value::Null)
}

/// Result of pulling a set of docs from A with iroh-docs' own per-doc sync routine.
struct PullResult {
    /// sessions that returned Ok
    ok: usize,
    /// sessions whose reconciliation finished but whose stream teardown failed: iroh-docs 0.101's
    /// `connect_and_sync` calls `read_to_end` on a receive stream it already read to its end when
    /// the accepting side ends the exchange, giving "Failed to close ...: closed stream". The
    /// entries were exchanged (checked by counting B's replica afterwards).
    close_errors: usize,
    /// any other failure
    errors: Vec<String>,
    entries_received: usize,
    /// time at which every doc in `watch` had finished its session
    t_watch: Option<Duration>,
    t_done: Duration,
}

/// B pulls `docs` from `peer` concurrently, one `iroh_docs::net::connect_and_sync` per doc (this is
/// the function the live engine calls for every doc/peer; it opens a QUIC connection and runs the
/// range-based reconciliation on one bi-stream). `t0` is taken right before the first call.
async fn pull_docs(b: &Node, peer: EndpointAddr, docs: &[NamespaceId], watch: &HashSet<NamespaceId>) -> PullResult {
    let t0 = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for ns in docs {
        let (ep, sync, ns, addr) = (b.endpoint.clone(), b.sync.clone(), *ns, peer.clone());
        set.spawn(
            async move {
                let r = iroh_docs::net::connect_and_sync(&ep, &sync, ns, addr, None).await;
                (ns, r, t0.elapsed())
            }
            .instrument(tracing::info_span!("connect")),
        );
    }
    let mut res = PullResult {
        ok: 0,
        close_errors: 0,
        errors: vec![],
        entries_received: 0,
        t_watch: None,
        t_done: Duration::ZERO,
    };
    let mut pending = watch.clone();
    while let Some(r) = set.join_next().await {
        let (ns, r, t) = r.expect("sync task panicked");
        match r {
            Ok(fin) => {
                res.ok += 1;
                res.entries_received += fin.outcome.num_recv;
            }
            Err(iroh_docs::net::ConnectError::Close { .. }) => res.close_errors += 1,
            Err(e) => res.errors.push(format!("{:#}", anyhow::Error::from(e))),
        }
        if pending.remove(&ns) && pending.is_empty() {
            res.t_watch = Some(t);
        }
    }
    res.t_done = t0.elapsed();
    if !res.errors.is_empty() {
        tracing::warn!("{} of {} syncs failed, first: {}", res.errors.len(), docs.len(), res.errors[0]);
    }
    res
}

const SETTLE: Duration = Duration::from_millis(300);

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

async fn bench_big_doc(n: usize, rt: &RtCounter) -> Result<(Value, Value, Value)> {
    let a = Node::spawn("A").await?;
    let b = Node::spawn("B").await?;

    // --- setup: A's document with N posts (not timed)
    let t = Instant::now();
    let author = a.docs.author_create().await?;
    let doc_a = a.docs.create().await?;
    let mut posts = Posts::new();
    fill_doc(&doc_a, author, &mut posts, n).await?;
    doc_a.start_sync(vec![]).await?; // make A accept sync requests for this doc
    tracing::info!("setup: A has {n} entries ({:?})", t.elapsed());
    let ticket: DocTicket = doc_a.share(ShareMode::Read, AddrInfoOptions::Addresses).await?;
    let ticket: DocTicket = ticket.to_string().parse()?; // round-trip through the ticket string
    if ticket.nodes.iter().all(|n| n.is_empty()) {
        bail!("ticket carries no addresses");
    }

    // B imports the doc capability, turns downloads off, subscribes (all local, not timed).
    let doc_b = b.docs.import_namespace(ticket.capability.clone()).await?;
    doc_b.set_download_policy(DownloadPolicy::NothingExcept(vec![])).await?;
    let ns = doc_b.id();
    let hub = EventHub::new(a.endpoint.id());
    hub.attach(ns, Box::pin(doc_b.subscribe().await?));
    let docs = HashSet::from([ns]);
    tokio::time::sleep(SETTLE).await;

    // --- cold_first_screen / full_sync: B joins by ticket, reconciles the whole set
    rt.reset();
    let meter = ByteMeter::start(&a, &b, true);
    let base = hub.snapshot();
    let t0 = Instant::now();
    doc_b.start_sync(ticket.nodes.clone()).await?;
    let (t_entries, t_done, _) =
        wait_entries_and_syncs(&hub, &base, t0, n as u64, &docs, Duration::from_secs(1800)).await?;
    tokio::time::sleep(SETTLE).await;
    let bytes = meter.read();
    let rts = rt_fields(rt);
    let have = count_entries(&doc_b).await?;
    if have != n {
        bail!("B has {have} entries, expected {n}");
    }
    tracing::info!(?t_entries, ?t_done, %bytes, "initial sync done");
    let cold = merge(
        json!({
            "ms": ms(t_entries),
            "ms_sync_finished": ms_opt(t_done),
            "entries_on_b": have,
            "note": format!(
                "iroh-docs cannot fetch just the newest 32 posts: a fresh replica reconciles the whole set, so this is the full \
                 {n}-entry sync via the live engine (full_sync is the same sync as a separate run without the live engine). Timed from B's start_sync(ticket peers) (QUIC connect + gossip join + \
                 range-based set reconciliation) until B's replica held all {n} entries. Entries carry only the BLAKE3 hash + \
                 length of each post (content downloads are off on B), so post bodies (text_len+150 B) never cross the wire."
            ),
        }),
        merge(bytes.clone(), rts.clone()),
    );

    // --- full_sync: a separate run with a fresh node B2 that pulls the doc from A with
    // iroh_docs::net::connect_and_sync (no live engine / gossip), bytes counted at B2.
    let b2 = Node::spawn("B2").await?;
    let doc_b2 = b2.docs.import_namespace(ticket.capability.clone()).await?;
    doc_b2.set_download_policy(DownloadPolicy::NothingExcept(vec![])).await?;
    b2.sync.open(doc_b2.id(), OpenOpts::default().sync()).await?;
    tokio::time::sleep(SETTLE).await;
    rt.reset();
    let meter = ByteMeter::start(&b2, &a, false);
    let pr = pull_docs(&b2, ticket.nodes[0].clone(), &[doc_b2.id()], &HashSet::new()).await;
    tokio::time::sleep(SETTLE).await;
    let bytes = meter.read();
    let have2 = count_entries(&doc_b2).await?;
    if !pr.errors.is_empty() || have2 != n {
        bail!("full_sync: errors={:?} B2 has {have2} entries, expected {n}", pr.errors);
    }
    tracing::info!(t = ?pr.t_done, %bytes, "full sync (direct) done");
    let full = merge(
        json!({
            "ms": ms(pr.t_done),
            "entries_on_b": have2,
            "sync_close_errors": pr.close_errors,
            "note": format!(
                "separate run on a fresh node B2: one iroh_docs::net::connect_and_sync(A) call (QUIC connect + range-based \
                 reconciliation of all {n} entries, no gossip/live engine), timed until it returned with all {n} entries \
                 in B2's replica. The live-engine path of the same initial sync is cold_first_screen. Entries only, no content."
            ),
        }),
        merge(bytes, rt_fields(rt)),
    );
    b2.shutdown().await;

    // --- catch_up_10: B goes away, A adds 10 posts, B comes back and re-syncs
    doc_b.leave().await?;
    tokio::time::sleep(SETTLE).await;
    fill_doc(&doc_a, author, &mut posts, 10).await?;
    tokio::time::sleep(SETTLE).await;
    rt.reset();
    let meter = ByteMeter::start(&a, &b, true);
    let base = hub.snapshot();
    let t0 = Instant::now();
    doc_b.start_sync(vec![a.addr()]).await?;
    let (t_entries, t_done, _) =
        wait_entries_and_syncs(&hub, &base, t0, 10, &docs, Duration::from_secs(600)).await?;
    tokio::time::sleep(SETTLE).await;
    let bytes = meter.read();
    let have = count_entries(&doc_b).await?;
    if have != n + 10 {
        bail!("B has {have} entries after catch-up, expected {}", n + 10);
    }
    let catch = merge(
        json!({
            "ms": ms(t_entries),
            "ms_sync_finished": ms_opt(t_done),
            "entries_on_b": have,
            "note": format!(
                "B left the doc's live sync (doc.leave), A added 10 posts, then B start_sync'd with A again: timed until B had \
                 the 10 new entries. Includes a fresh QUIC connection, gossip re-join and reconciliation of the {}-entry set \
                 (fingerprint ranges narrow down to the 10 new entries). Entries only, no content.",
                n + 10
            ),
        }),
        merge(bytes, rt_fields(rt)),
    );

    doc_b.leave().await?;
    doc_a.leave().await?;
    a.shutdown().await;
    b.shutdown().await;
    Ok((cold, catch, full))
}

async fn bench_notify(rt: &RtCounter) -> Result<Value> {
    const DOCS: usize = 200;
    const PER_DOC: usize = 20;
    const CHANGED: usize = 5;
    let a = Node::spawn("A").await?;
    let b = Node::spawn("B").await?;
    let mut posts = Posts::new();

    let mut a_docs = Vec::new();
    for _ in 0..DOCS {
        let author = a.docs.author_create().await?;
        let doc = a.docs.create().await?;
        fill_doc(&doc, author, &mut posts, PER_DOC).await?;
        doc.start_sync(vec![]).await?; // A accepts sync requests for the doc
        a_docs.push((doc, author));
    }
    let mut b_docs = Vec::new();
    for (doc_a, _) in &a_docs {
        let ticket = doc_a.share(ShareMode::Read, AddrInfoOptions::Addresses).await?;
        let doc_b = b.docs.import_namespace(ticket.capability).await?;
        doc_b.set_download_policy(DownloadPolicy::NothingExcept(vec![])).await?;
        b.sync.open(doc_b.id(), OpenOpts::default().sync()).await?;
        b_docs.push(doc_b);
    }
    let ids: Vec<NamespaceId> = b_docs.iter().map(|d| d.id()).collect();

    // setup: B pulls all 200 docs once (not reported)
    let pr = pull_docs(&b, a.addr(), &ids, &HashSet::new()).await;
    if !pr.errors.is_empty() {
        bail!("notify setup: errors={:?}", pr.errors.first());
    }
    for d in &b_docs {
        let have = count_entries(d).await?;
        if have != PER_DOC {
            bail!("notify setup: doc has {have} entries on B, expected {PER_DOC}");
        }
    }
    tracing::info!("notify setup: B pulled {DOCS} docs in {:?}", pr.t_done);
    tokio::time::sleep(SETTLE).await;

    // 5 of the 200 docs get one new post each; then B re-syncs all 200 docs.
    let mut changed = HashSet::new();
    for (doc, author) in a_docs.iter().step_by(DOCS / CHANGED).take(CHANGED) {
        fill_doc(doc, *author, &mut posts, 1).await?;
        changed.insert(doc.id());
    }
    tokio::time::sleep(SETTLE).await;
    rt.reset();
    let meter = ByteMeter::start(&a, &b, true);
    let pr = pull_docs(&b, a.addr(), &ids, &changed).await;
    tokio::time::sleep(SETTLE).await;
    let bytes = meter.read();
    if !pr.errors.is_empty() {
        bail!("notify_200: {} syncs failed: {:?}", pr.errors.len(), pr.errors.first());
    }
    for d in &b_docs {
        let have = count_entries(d).await?;
        let want = if changed.contains(&d.id()) { PER_DOC + 1 } else { PER_DOC };
        if have != want {
            bail!("notify_200: doc has {have} entries on B, expected {want}");
        }
    }
    let notify = merge(
        json!({
            "ms": ms(pr.t_done),
            "ms_until_5_changed_docs_synced": ms_opt(pr.t_watch),
            "docs_resynced": pr.ok + pr.close_errors,
            "sync_close_errors": pr.close_errors,
            "note": format!(
                "{DOCS} docs (one per followed author, {PER_DOC} entries each), all synced to B; A added 1 post to {CHANGED} \
                 docs; then B re-synced all {DOCS} docs with A concurrently, one iroh_docs::net::connect_and_sync per doc \
                 (the per-doc sync the live engine runs; iroh-docs has no multi-doc sync, so this is {DOCS} QUIC \
                 connections + handshakes and {DOCS} reconciliation sessions). ms = until all {DOCS} had finished. \
                 round_trips = deepest single session (sessions run in parallel); sync_round_trips_total sums them. \
                 sync_close_errors = sessions that exchanged everything but then hit iroh-docs' stream-teardown bug \
                 (read_to_end on an already finished stream); all of B's replicas were verified complete afterwards. \
                 The live engine (start_sync on 200 docs) was not usable here: it deadlocks iroh-docs 0.101 + \
                 iroh-gossip 0.101 with this many docs between two peers."
            ),
        }),
        merge(bytes, rt_fields(rt)),
    );

    // Reference: what one bare iroh QUIC connection (handshake + close, no streams) costs here.
    tokio::time::sleep(SETTLE).await;
    let meter = ByteMeter::start(&a, &b, true);
    let conn = b.endpoint.connect(a.addr(), iroh_blobs::ALPN).await?;
    conn.close(0u32.into(), b"bench");
    tokio::time::sleep(SETTLE).await;
    let bare = meter.read()["bytes"].clone();
    let notify = merge(notify, json!({ "bare_quic_connection_bytes": bare }));

    a.shutdown().await;
    b.shutdown().await;
    Ok(notify)
}

#[tokio::main]
async fn main() -> Result<()> {
    let rt = RtCounter::default();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,iroh_docs_peer=info"));
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_filter(filter))
        .with(rt.clone().with_filter(
            tracing_subscriber::filter::Targets::new()
                .with_target("iroh_docs::engine::live", tracing::Level::TRACE)
                .with_target("iroh_docs::net", tracing::Level::TRACE)
                .with_target("iroh_docs_peer", tracing::Level::TRACE),
        ))
        .init();

    let mut args = std::env::args().skip(1);
    let mut posts: Option<usize> = None;
    let mut as_json = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--posts" => posts = Some(args.next().context("--posts needs a value")?.parse()?),
            "--json" => as_json = true,
            "-h" | "--help" => {
                eprintln!("usage: iroh-docs-peer --posts N [--json]");
                return Ok(());
            }
            other => bail!("unknown argument {other}"),
        }
    }
    let n = posts.context("usage: iroh-docs-peer --posts N [--json]")?;

    let (cold, catch, full) = bench_big_doc(n, &rt).await?;
    let notify = bench_notify(&rt).await?;

    let out = json!({
        "peer": "iroh-docs",
        "versions": {"iroh": "1.4.1", "iroh-docs": "0.101.0", "iroh-blobs": "0.103.1", "iroh-gossip": "0.101.0"},
        "posts": n,
        "bytes_method": "iroh 1.4 endpoint socket metrics: Endpoint::metrics().socket send_ipv4 + recv_data_ipv4 byte \
                         counters (UDP payloads = whole QUIC packets incl. handshakes, ACKs, padding, gossip; IP/UDP headers \
                         excluded), delta over the measured window on a node that talks only to the other one (A; for full_sync \
                         the fresh node B2), so sent+received = all A<->B traffic both directions; bytes_seen_by_other_side is \
                         the same count taken at the other endpoint as a cross-check. Read 300 ms after the last sync finished \
                         so connection teardown is included. Per-connection Connection::stats() is not reachable: iroh-docs \
                         opens its connections internally.",
        "round_trips_method": "sync-protocol request/response exchanges of the deepest reconciliation session, counted from \
                               iroh-docs' own trace events (iroh_docs::net::codec 'send init/process message' on the initiating \
                               side); excludes the QUIC handshake (+1 RTT per new connection) and gossip join. sync_sessions / sync_round_trips_total / \
                               sync_messages_total count every session in the window (the live engine also starts a second, \
                               A-initiated session when B appears as a gossip neighbour)",
        "cold_first_screen": cold,
        "catch_up_10": catch,
        "notify_200": notify,
        "full_sync": full,
    });
    if as_json {
        println!("{out}");
    } else {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}

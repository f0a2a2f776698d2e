//! iroh-docs-peer: side-by-side benchmark of iroh-docs (range-based set reconciliation) on
//! loopback. The author A and its followers are nodes in one process, relays and discovery off.
//! Every follower reaches A through a `rookery-netsim` DelayRelay in front of A's socket (the same
//! delaying relay the Rookery harness uses), which adds `--rtt-ms` to every round trip and counts
//! the UDP payload bytes both ways: that count is every byte figure printed. A is bound on
//! 127.0.0.1, the followers on [::1] where the relay listens, so iroh's hole punching cannot open
//! a direct path around the relay (an endpoint hook checks every path anyway).
//! (iroh-docs logs its own stream-teardown bug as warnings; those are filtered to errors unless
//! RUST_LOG says otherwise.)
//!
//! `iroh-docs-peer [--posts N] [--authors A] [--per-author P] [--runs K] [--rtt-ms R] [--json]`
//! prints one JSON object on stdout; logs go to stderr.

use std::{
    collections::{HashMap, HashSet},
    future::Future,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{bail, ensure, Context, Result};
use futures_lite::StreamExt;
use iroh::{
    endpoint::{presets, AfterHandshakeOutcome, Connection, EndpointHooks, PathEvent},
    protocol::Router,
    Endpoint, EndpointAddr, EndpointId, RelayMode, SecretKey, TransportAddr,
};
use iroh_blobs::{store::mem::MemStore, BlobsProtocol, Hash};
use iroh_docs::{
    actor::{OpenOpts, SyncHandle},
    api::{
        protocol::{AddrInfoOptions, ShareMode},
        Doc,
    },
    engine::{DefaultAuthorStorage, Engine, LiveEvent},
    protocol::Docs,
    store::{DownloadPolicy, Query},
    AuthorId, Capability, NamespaceId,
};
use iroh_gossip::net::Gossip;
use rookery_netsim::DelayRelay;
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
// Sync-protocol message counting (a diagnostic; `round_trips` itself is left to the harness,
// which derives it from the times at RTT R against RTT 0).
//
// iroh_docs::net::codec::run_alice (the initiating side, run inside a "connect" span) emits
// `trace!("send init message")` / `trace!("send process message")` once per message it sends;
// every Alice message is answered by Bob, so Alice's messages in one session = the protocol's
// request/response exchanges in that session (QUIC handshake and gossip join not included).
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct RtStats {
    /// per "connect" span (one sync session initiated by this process): alice messages
    sessions: HashMap<u64, u64>,
    next_session: u64,
}

#[derive(Clone, Default)]
struct RtCounter(Arc<Mutex<RtStats>>);

struct SessionNo(u64);

impl RtCounter {
    fn reset(&self) {
        self.0.lock().unwrap().sessions.clear();
    }
    /// (deepest session's exchanges, sessions)
    fn snapshot(&self) -> (Option<u64>, usize) {
        let s = self.0.lock().unwrap();
        (s.sessions.values().copied().max(), s.sessions.len())
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
        let Some(scope) = ctx.event_scope(event) else { return };
        for span in scope {
            match span.name() {
                "connect" => {
                    if let Some(SessionNo(no)) = span.extensions().get::<SessionNo>() {
                        *self.0.lock().unwrap().sessions.entry(*no).or_default() += 1;
                    }
                    return;
                }
                "accept" => return,
                _ => {}
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The delaying relay between a follower and A, and what crossed it
// ---------------------------------------------------------------------------------------------

/// A DelayRelay shared with the follower's endpoint hook (which snapshots its count).
type Relay = Arc<Mutex<DelayRelay>>;

fn relay_bytes(relay: &Relay) -> u64 {
    relay.lock().unwrap().bytes()
}

/// One QUIC connection of a follower with A, seen when its handshake completed.
struct Handshake {
    /// The connection's own UDP payload bytes (sent + received) at that moment: its handshake.
    conn_bytes: u64,
    /// The relay's count at that moment.
    relay_bytes: u64,
    incoming: bool,
    alpn: String,
}

#[derive(Default)]
struct ProbeState {
    /// The relay of the current window and the address followers send to.
    relay: Option<(Relay, SocketAddr)>,
    handshakes: Vec<Handshake>,
    /// Paths of followers' connections that did not go through the relay (must stay empty).
    off_relay_paths: Vec<String>,
}

/// An endpoint hook on every follower: records each connection's handshake bytes, and watches
/// that every network path of the connection goes through the current relay (iroh would
/// otherwise hole-punch a direct loopback path past it).
#[derive(Clone, Default)]
struct Probe(Arc<Mutex<ProbeState>>);

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Probe")
    }
}

impl EndpointHooks for Probe {
    fn after_handshake<'a>(
        &'a self,
        conn: &'a Connection,
    ) -> impl Future<Output = AfterHandshakeOutcome> + Send + 'a {
        let stats = conn.stats();
        let conn_bytes = stats.udp_tx.bytes + stats.udp_rx.bytes;
        let front = {
            let mut s = self.0.lock().unwrap();
            let (relay_bytes, front) = match &s.relay {
                Some((r, a)) => (relay_bytes(r), Some(*a)),
                None => (0, None),
            };
            s.handshakes.push(Handshake {
                conn_bytes,
                relay_bytes,
                incoming: conn.side().is_server(),
                alpn: String::from_utf8_lossy(conn.alpn()).into_owned(),
            });
            front
        };
        if let Some(front) = front {
            let want = TransportAddr::Ip(front);
            for p in conn.paths().iter() {
                if *p.remote_addr() != want {
                    self.off_relay(format!("{:?} (at handshake)", p.remote_addr()));
                }
            }
            let mut events = conn.path_events();
            let probe = self.clone();
            tokio::spawn(async move {
                while let Some(ev) = events.next().await {
                    if let PathEvent::Opened { remote_addr, .. } = &ev {
                        if *remote_addr != want {
                            probe.off_relay(format!("{remote_addr:?}"));
                        }
                    }
                }
            });
        }
        async { AfterHandshakeOutcome::accept() }
    }
}

impl Probe {
    fn off_relay(&self, what: String) {
        tracing::warn!("a connection opened a path past the relay: {what}");
        self.0.lock().unwrap().off_relay_paths.push(what);
    }
}

/// A relay in front of A's socket, and A's address through it (its only direct address).
struct Link {
    relay: Relay,
    front: SocketAddr,
    addr: EndpointAddr,
}

impl Link {
    async fn open(a: &Node, rtt: Duration) -> Result<Link> {
        let relay = DelayRelay::start(a.direct()?, rtt).await?;
        let front = relay.addr();
        Ok(Link {
            relay: Arc::new(Mutex::new(relay)),
            front,
            addr: EndpointAddr::new(a.endpoint.id()).with_ip_addr(front),
        })
    }
}

/// A measurement window on a link: bytes through the relay from now on, and the handshakes of
/// the connections opened meanwhile.
struct Window<'a> {
    link: &'a Link,
    probe: &'a Probe,
    a: &'a Node,
    relay0: u64,
    a0: u64,
}

/// What a window saw.
struct Sample {
    /// UDP payload bytes through the relay, both ways.
    bytes: u64,
    /// Of those, the handshakes of the connections opened in the window.
    handshake: u64,
    extra: Value,
}

impl<'a> Window<'a> {
    fn start(link: &'a Link, probe: &'a Probe, a: &'a Node) -> Window<'a> {
        {
            let mut s = probe.0.lock().unwrap();
            s.relay = Some((link.relay.clone(), link.front));
            s.handshakes.clear();
            s.off_relay_paths.clear();
        }
        Window { link, probe, a, relay0: relay_bytes(&link.relay), a0: a.udp_total() }
    }

    fn sample(&self) -> Result<Sample> {
        let bytes = relay_bytes(&self.link.relay) - self.relay0;
        let at_a = self.a.udp_total() - self.a0;
        let s = self.probe.0.lock().unwrap();
        if !s.off_relay_paths.is_empty() {
            bail!("traffic bypassed the relay (paths {:?}): the byte count would be wrong", s.off_relay_paths);
        }
        let handshake: u64 = s.handshakes.iter().map(|h| h.conn_bytes).sum();
        let mut alpns: HashMap<String, u64> = HashMap::new();
        for h in &s.handshakes {
            *alpns.entry(format!("{}{}", h.alpn, if h.incoming { " (A dialled)" } else { "" })).or_default() += 1;
        }
        let first = s.handshakes.first().map(|h| h.relay_bytes.saturating_sub(self.relay0));
        Ok(Sample {
            bytes,
            handshake: handshake.min(bytes),
            extra: json!({
                "connections": s.handshakes.len(),
                "connections_by_alpn": alpns,
                "relay_bytes_at_first_handshake": first,
                "bytes_at_author_socket": at_a,
            }),
        })
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
    /// A node on 127.0.0.1, relays and address lookup off. `store`: a redb file for the replica
    /// store (so the node can be restarted with its replicas), else in memory. `probe`: hook for
    /// followers.
    async fn spawn(name: &'static str, sk: SecretKey, store: Option<&Path>, probe: Option<&Probe>) -> Result<Self> {
        Self::spawn_on(name, "127.0.0.1:0".parse()?, sk, store, probe).await
    }

    /// A follower of `a`: bound on the loopback of the other address family than A's socket,
    /// which is where the relay listens (see rookery-netsim: a socket bound there alone can
    /// reach A only through the relay, and A cannot reach it directly).
    async fn follower(name: &'static str, a: &Node, sk: SecretKey, store: Option<&Path>, probe: &Probe) -> Result<Self> {
        let bind = rookery_netsim::other_family(a.direct()?);
        Self::spawn_on(name, bind, sk, store, Some(probe)).await
    }

    async fn spawn_on(name: &'static str, bind: SocketAddr, sk: SecretKey, store: Option<&Path>, probe: Option<&Probe>) -> Result<Self> {
        // The same QUIC transport as Rookery's (`rookery_sync::transport_config`): path MTU
        // discovery probes once, straight to 1,452 bytes.
        let mut mtu = iroh::endpoint::MtuDiscoveryConfig::default();
        mtu.minimum_change(200);
        let transport = iroh::endpoint::QuicTransportConfig::builder()
            .mtu_discovery_config(Some(mtu))
            .build();
        let mut builder = Endpoint::builder(presets::Minimal)
            .relay_mode(RelayMode::Disabled)
            .clear_address_lookup()
            .clear_ip_transports()
            .bind_addr(bind)?
            .secret_key(sk)
            .transport_config(transport);
        if let Some(probe) = probe {
            builder = builder.hooks(probe.clone());
        }
        let endpoint = builder.bind().await?;
        let blobs = MemStore::new();
        let gossip = Gossip::builder().spawn(endpoint.clone());
        // Same as `Docs::memory().spawn(..)`, but keeps a handle to the replica store actor.
        let downloader = blobs.downloader(&endpoint);
        let docs_store = match store {
            Some(path) => iroh_docs::store::Store::persistent(path)?,
            None => iroh_docs::store::Store::memory(),
        };
        let engine = Engine::spawn(
            endpoint.clone(),
            gossip.clone(),
            docs_store,
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

    fn direct(&self) -> Result<SocketAddr> {
        self.endpoint.bound_sockets().first().copied().context("endpoint has no socket")
    }

    /// UDP payload bytes this endpoint's socket sent + received so far (a cross-check only).
    fn udp_total(&self) -> u64 {
        let m = &self.endpoint.metrics().socket;
        m.send_ipv4.get() + m.send_ipv6.get() + m.recv_data_ipv4.get() + m.recv_data_ipv6.get()
    }

    /// Closes the endpoint (every connection) and the engine (which closes the replica store).
    async fn shutdown(self) {
        tracing::debug!("shutting down {}", self.name);
        self.router.shutdown().await.ok();
        self.endpoint.close().await;
    }
}

/// Entries of a doc that a follower must end up with: key -> content hash.
type Expected = HashMap<Vec<u8>, Hash>;

async fn fill_doc(doc: &Doc, author: AuthorId, posts: &mut Posts, n: usize, expected: &mut Expected) -> Result<Vec<Vec<u8>>> {
    let mut keys = Vec::with_capacity(n);
    for _ in 0..n {
        let (key, content) = posts.next();
        let hash = doc.set_bytes(author, key.to_vec(), content).await?;
        expected.insert(key.to_vec(), hash);
        keys.push(key.to_vec());
    }
    Ok(keys)
}

/// Checks that `doc` holds exactly the `expected` entries (same keys, same content hashes).
async fn check_doc(what: &str, doc: &Doc, expected: &Expected) -> Result<usize> {
    let mut s = Box::pin(doc.get_many(Query::all()).await?);
    let mut n = 0;
    let mut seen = HashSet::new();
    while let Some(e) = s.next().await {
        let e = e?;
        match expected.get(e.key()) {
            Some(h) if *h == e.content_hash() => {}
            Some(_) => bail!("{what}: entry {} has the wrong content hash", hex(e.key())),
            None => bail!("{what}: unexpected entry {}", hex(e.key())),
        }
        seen.insert(e.key().to_vec());
        n += 1;
    }
    if seen.len() != expected.len() {
        let missing = expected.keys().filter(|k| !seen.contains(*k)).count();
        bail!("{what}: {missing} of {} expected entries missing ({} held)", expected.len(), seen.len());
    }
    Ok(n)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

type EventStream = std::pin::Pin<Box<dyn futures_lite::Stream<Item = Result<LiveEvent>> + Send>>;

#[derive(Default, Clone)]
struct HubState {
    inserts: u64,
    last_insert_at: Option<Instant>,
    content_ready: u64,
    /// SyncFinished events with the peer, per doc: (ok, err)
    syncs: HashMap<NamespaceId, (u64, u64)>,
}

/// Collects the live events of a follower's subscribed doc without ever applying backpressure.
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
                        tracing::debug!("subscription ended: {e:#}");
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
                tracing::info!("waiting for {what}: {} new entries", st.inserts - base.inserts);
            }
            let _ = tokio::time::timeout(Duration::from_millis(100), notified).await;
        }
    }
}

/// Waits until `want` new entries arrived (returns the time of the last one since `t0`), then
/// until the doc finished a sync session with A (time when observed; None if not within 60 s).
async fn wait_entries(
    hub: &EventHub,
    base: &HubState,
    t0: Instant,
    want: u64,
    ns: NamespaceId,
    timeout: Duration,
    wait_session: bool,
) -> Result<(Duration, Option<Duration>)> {
    let st = hub.wait("entries", base, timeout, |st, b| st.inserts - b.inserts >= want).await?;
    let t_entries = match st.last_insert_at {
        Some(t) if want > 0 => t - t0,
        _ => Duration::ZERO,
    };
    let mut t_done = None;
    if wait_session {
        let r = hub
            .wait("the sync session", base, Duration::from_secs(60), |st, b| {
                let now = st.syncs.get(&ns).copied().unwrap_or_default();
                let before = b.syncs.get(&ns).copied().unwrap_or_default();
                now.0 + now.1 > before.0 + before.1
            })
            .await;
        match r {
            Ok(_) => t_done = Some(t0.elapsed()),
            Err(e) => tracing::warn!("{e:#}"),
        }
    }
    let content = hub.snapshot().content_ready - base.content_ready;
    if content > 0 {
        bail!("{content} blobs were downloaded although downloads are off");
    }
    Ok((t_entries, t_done))
}

/// Result of pulling a set of docs from A with iroh-docs' own per-doc sync routine.
struct PullResult {
    /// sessions that returned Ok
    ok: usize,
    /// sessions whose reconciliation finished but whose stream teardown failed: iroh-docs 0.101's
    /// `connect_and_sync` calls `read_to_end` on a receive stream it already read to its end when
    /// the accepting side ends the exchange, giving "Failed to close ...: closed stream". The
    /// entries were exchanged (checked against the expected entries afterwards).
    close_errors: usize,
    /// any other failure
    errors: Vec<String>,
    /// time at which every doc in `watch` had finished its session
    t_watch: Option<Duration>,
    t_done: Duration,
}

/// `b` pulls `docs` from `peer` concurrently, one `iroh_docs::net::connect_and_sync` per doc
/// (the function the live engine calls for every doc/peer: it opens a QUIC connection and runs
/// the range-based reconciliation on one bi-stream). Times are since `t0`.
async fn pull_docs(b: &Node, peer: &EndpointAddr, docs: &[NamespaceId], watch: &HashSet<NamespaceId>, t0: Instant) -> PullResult {
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
    let mut res = PullResult { ok: 0, close_errors: 0, errors: vec![], t_watch: None, t_done: Duration::ZERO };
    let mut pending = watch.clone();
    while let Some(r) = set.join_next().await {
        let (ns, r, t) = r.expect("sync task panicked");
        match r {
            Ok(_) => res.ok += 1,
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

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

fn ms_opt(d: Option<Duration>) -> Value {
    d.map(|d| json!(ms(d))).unwrap_or(Value::Null)
}

// ---------------------------------------------------------------------------------------------
// Runs and figures
// ---------------------------------------------------------------------------------------------

/// One measured run of a case.
struct Run {
    ms: f64,
    /// through the relay, handshakes included
    bytes: u64,
    /// of which the handshakes of the connections opened in the run
    handshake: u64,
    /// per-run details (reported for the median run)
    extra: Value,
}

impl Run {
    fn new(t: Duration, sample: Sample, rt: &RtCounter, extra: Value) -> Run {
        let (deepest, sessions) = rt.snapshot();
        let mut extra = merge(sample.extra, extra);
        extra = merge(extra, json!({ "sync_protocol_exchanges": deepest, "sync_sessions_started_by_follower": sessions }));
        Run { ms: ms(t), bytes: sample.bytes, handshake: sample.handshake, extra }
    }
}

/// The median run by time (the upper one of an even count), with min and max, as the harness
/// computes its own figures.
fn figure(runs: Vec<Run>, note: String) -> Value {
    let mut runs = runs;
    runs.sort_by(|a, b| a.ms.total_cmp(&b.ms));
    let all: Vec<f64> = runs.iter().map(|r| r.ms).collect();
    let (min, max) = (all[0], all[all.len() - 1]);
    let k = runs.len();
    let mid = runs.swap_remove(k / 2);
    merge(
        json!({
            "bytes": mid.bytes - mid.handshake,
            "bytes_with_handshake": mid.bytes,
            "round_trips": null,
            "ms": mid.ms,
            "ms_min": min,
            "ms_max": max,
            "runs": k,
            "ms_all_runs": all,
            "note": note,
        }),
        mid.extra,
    )
}

fn merge(mut base: Value, extra: Value) -> Value {
    if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
        for (k, v) in e {
            b.insert(k, v);
        }
    }
    base
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

struct Opts {
    posts: usize,
    authors: usize,
    per_author: usize,
    runs: usize,
    rtt: Duration,
}

impl Opts {
    /// Waited before reading a window's bytes (ACKs and teardown included) and between phases.
    fn settle(&self) -> Duration {
        Duration::from_millis(300) + self.rtt
    }
}

/// A directory for the restartable followers' replica stores (tmpfs when there is one, so
/// redb's fsyncs cost nothing), removed on drop.
struct StoreDir(PathBuf);

impl StoreDir {
    fn new(name: &str) -> Result<Self> {
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() { shm.to_path_buf() } else { std::env::temp_dir() };
        let dir = base.join(format!("iroh-docs-peer-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }
    fn db(&self) -> PathBuf {
        self.0.join("docs.redb")
    }
}

impl Drop for StoreDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A follower of one doc with the live engine: imports the capability, turns downloads off,
/// subscribes (all local).
async fn follow(node: &Node, cap: Option<Capability>, ns: NamespaceId, peer: EndpointId) -> Result<(Doc, EventHub)> {
    let doc = match cap {
        Some(cap) => node.docs.import_namespace(cap).await?,
        None => node.docs.open(ns).await?.context("the follower's store lost the doc")?,
    };
    doc.set_download_policy(DownloadPolicy::NothingExcept(vec![])).await?;
    let hub = EventHub::new(peer);
    hub.attach(doc.id(), Box::pin(doc.subscribe().await?));
    Ok((doc, hub))
}

/// Figures of the one-author cases: (cold_first_screen, catch_up_10, catch_up_10_reconnect,
/// full_sync).
async fn bench_big_doc(o: &Opts, rt: &RtCounter, probe: &Probe) -> Result<(Value, Value, Value, Value)> {
    let n = o.posts;
    let a = Node::spawn("A", SecretKey::generate(), None, None).await?;

    // --- setup: A's document with N posts (not timed)
    let t = Instant::now();
    let author = a.docs.author_create().await?;
    let doc_a = a.docs.create().await?;
    let mut posts = Posts::new();
    let mut expected = Expected::new();
    fill_doc(&doc_a, author, &mut posts, n, &mut expected).await?;
    doc_a.start_sync(vec![]).await?; // make A accept sync requests for this doc
    tracing::info!("setup: A has {n} entries ({:?})", t.elapsed());
    let cap = doc_a.share(ShareMode::Read, AddrInfoOptions::Id).await?.capability;
    let ns = doc_a.id();

    // --- full_sync: a fresh follower pulls the doc with one connect_and_sync (no live engine)
    let mut runs = Vec::new();
    for i in 0..o.runs {
        let f = Node::follower("F", &a, SecretKey::generate(), None, probe).await?;
        let doc = f.docs.import_namespace(cap.clone()).await?;
        doc.set_download_policy(DownloadPolicy::NothingExcept(vec![])).await?;
        f.sync.open(ns, OpenOpts::default().sync()).await?;
        tokio::time::sleep(o.settle()).await;
        let link = Link::open(&a, o.rtt).await?;
        let w = Window::start(&link, probe, &a);
        rt.reset();
        let t0 = Instant::now();
        let pr = pull_docs(&f, &link.addr, &[ns], &HashSet::new(), t0).await;
        tokio::time::sleep(o.settle()).await;
        let sample = w.sample()?;
        ensure!(pr.errors.is_empty(), "full_sync: {:?}", pr.errors);
        let have = check_doc("full_sync", &doc, &expected).await?;
        tracing::info!(run = i, t = ?pr.t_done, bytes = sample.bytes, "full_sync");
        runs.push(Run::new(pr.t_done, sample, rt, json!({ "entries_on_follower": have, "sync_close_errors": pr.close_errors })));
        f.shutdown().await;
        drop(link);
    }
    let full = figure(runs, format!(
        "a fresh follower (new endpoint, empty in-memory replica) makes one iroh_docs::net::connect_and_sync call to A \
         (QUIC connect + one range-based reconciliation session of all {n} entries, no gossip/live engine). Timed from \
         the call (before connecting) until it returned, i.e. the session finished and its stream was closed; every \
         one of the {n} entries (key + content hash) was then verified in the follower's replica. Entries carry only \
         the BLAKE3 hash + length of each post (content downloads are off), so post bodies (text_len+150 B) never \
         cross the wire. The live-engine path of the same first sync is cold_first_screen."
    ));

    // --- cold_first_screen: a fresh follower joins with the live engine (start_sync)
    let mut runs = Vec::new();
    for i in 0..o.runs {
        let c = Node::follower("C", &a, SecretKey::generate(), None, probe).await?;
        let (doc, hub) = follow(&c, Some(cap.clone()), ns, a.endpoint.id()).await?;
        tokio::time::sleep(o.settle()).await;
        let link = Link::open(&a, o.rtt).await?;
        let w = Window::start(&link, probe, &a);
        rt.reset();
        let base = hub.snapshot();
        let t0 = Instant::now();
        doc.start_sync(vec![link.addr.clone()]).await?;
        let (t_entries, t_done) = wait_entries(&hub, &base, t0, n as u64, ns, Duration::from_secs(1800), true).await?;
        tokio::time::sleep(o.settle()).await;
        let sample = w.sample()?;
        let have = check_doc("cold_first_screen", &doc, &expected).await?;
        tracing::info!(run = i, ?t_entries, ?t_done, bytes = sample.bytes, "cold_first_screen");
        runs.push(Run::new(t_entries, sample, rt, json!({ "entries_on_follower": have, "ms_sync_session_finished": ms_opt(t_done) })));
        doc.leave().await.ok();
        c.shutdown().await;
        tokio::time::sleep(o.settle()).await;
        drop(link);
    }
    let cold = figure(runs, format!(
        "iroh-docs cannot fetch just the newest 32 posts: a fresh replica reconciles the whole set, so this is the \
         whole {n}-entry first sync through the live engine. A fresh follower (new endpoint, empty in-memory replica) \
         calls doc.start_sync([A via the relay]) (QUIC connects + gossip join + range-based reconciliation; A also \
         starts a session of its own when the follower becomes its gossip neighbour). Timed from that call (before \
         connecting) until the {n}th InsertRemote event, i.e. the follower's replica held all {n} entries (then \
         verified: every key + content hash); ms_sync_session_finished is when the SyncFinished event followed. \
         Entries only (hash + length), no post bodies."
    ));

    // --- the restartable follower P (replica store in a redb file) for catch_up_10 and
    // catch_up_10_reconnect: first sync (not timed), live afterwards.
    let store = StoreDir::new("p")?;
    let sk_p = SecretKey::generate();
    let mut p = Node::follower("P", &a, sk_p.clone(), Some(&store.db()), probe).await?;
    let (mut doc_p, mut hub_p) = follow(&p, Some(cap.clone()), ns, a.endpoint.id()).await?;
    let mut link_p = Link::open(&a, o.rtt).await?;
    let _ = Window::start(&link_p, probe, &a); // points the probe at this relay
    let t = Instant::now();
    let base = hub_p.snapshot();
    doc_p.start_sync(vec![link_p.addr.clone()]).await?;
    wait_entries(&hub_p, &base, t, n as u64, ns, Duration::from_secs(1800), true).await?;
    check_doc("catch_up setup", &doc_p, &expected).await?;
    tracing::info!("P synced {n} entries ({:?})", t.elapsed());
    tokio::time::sleep(o.settle()).await;

    // --- catch_up_10: P is live (gossip neighbour of A); A adds 10 posts
    let mut runs = Vec::new();
    for i in 0..o.runs {
        tokio::time::sleep(o.settle()).await;
        let w = Window::start(&link_p, probe, &a);
        rt.reset();
        let base = hub_p.snapshot();
        let t0 = Instant::now();
        fill_doc(&doc_a, author, &mut posts, 10, &mut expected).await?;
        let (t_entries, _) = wait_entries(&hub_p, &base, t0, 10, ns, Duration::from_secs(120), false).await?;
        tokio::time::sleep(o.settle()).await;
        let sample = w.sample()?;
        let have = check_doc("catch_up_10", &doc_p, &expected).await?;
        tracing::info!(run = i, ?t_entries, bytes = sample.bytes, "catch_up_10");
        runs.push(Run::new(t_entries, sample, rt, json!({ "entries_on_follower": have })));
    }
    let catch = figure(runs, format!(
        "live: the follower is synced and has the doc open with the live engine (gossip neighbour of A, connection \
         up). A adds 10 posts (10 doc.set_bytes calls, each broadcast by A's live engine over gossip). Timed from \
         just before the first insert until the follower's 10th InsertRemote event; the follower's replica was then \
         verified to hold all {} entries. No connection is opened, so bytes = bytes_with_handshake (gossip messages + \
         QUIC ACKs, read {} ms after the last entry). Entries only, no post bodies.",
        n + 10, o.settle().as_millis()
    ));

    // --- catch_up_10_reconnect: P goes offline (endpoint closed), A adds 10 posts, P restarts
    // (same key, same replica store) and reconnects
    let mut runs = Vec::new();
    for i in 0..o.runs {
        doc_p.leave().await.ok();
        p.shutdown().await;
        tokio::time::sleep(o.settle()).await; // lets the close reach A before the relay goes
        drop(link_p);
        fill_doc(&doc_a, author, &mut posts, 10, &mut expected).await?;
        tokio::time::sleep(o.settle()).await;
        p = Node::follower("P", &a, sk_p.clone(), Some(&store.db()), probe).await?;
        (doc_p, hub_p) = follow(&p, None, ns, a.endpoint.id()).await?;
        tokio::time::sleep(o.settle()).await;
        link_p = Link::open(&a, o.rtt).await?;
        let w = Window::start(&link_p, probe, &a);
        rt.reset();
        let base = hub_p.snapshot();
        let t0 = Instant::now();
        doc_p.start_sync(vec![link_p.addr.clone()]).await?;
        let (t_entries, t_done) = wait_entries(&hub_p, &base, t0, 10, ns, Duration::from_secs(600), true).await?;
        tokio::time::sleep(o.settle()).await;
        let sample = w.sample()?;
        let have = check_doc("catch_up_10_reconnect", &doc_p, &expected).await?;
        tracing::info!(run = i, ?t_entries, bytes = sample.bytes, "catch_up_10_reconnect");
        runs.push(Run::new(t_entries, sample, rt, json!({ "entries_on_follower": have, "ms_sync_session_finished": ms_opt(t_done) })));
    }
    let reconnect = figure(runs, format!(
        "the follower (replica in a redb file, holding the doc) closed its endpoint (doc.leave, router + endpoint \
         shutdown: every connection closed); A added 10 posts; the follower restarted (same secret key, same store, \
         new endpoint: no TLS session to resume) and called doc.start_sync([A via the relay]). Timed from that call \
         (before connecting: handshakes included) until the follower's 10th InsertRemote event (then verified: all {} \
         entries). Includes fresh QUIC connections (docs sync + gossip, and A's own session back), gossip re-join and \
         reconciliation of the whole set, whose fingerprint ranges narrow down to the 10 new entries. Entries only.",
        n + 10 * (o.runs + 1)
    ));

    doc_p.leave().await.ok();
    p.shutdown().await;
    drop(link_p);
    doc_a.leave().await.ok();
    a.shutdown().await;
    Ok((cold, catch, reconnect, full))
}

async fn bench_notify(o: &Opts, rt: &RtCounter, probe: &Probe) -> Result<Value> {
    let (docs_n, per_doc) = (o.authors, o.per_author);
    let changed_n = 5.min(docs_n);
    let a = Node::spawn("A", SecretKey::generate(), None, None).await?;
    let mut posts = Posts::new();

    // A holds one doc per followed author, each written by its own author.
    let t = Instant::now();
    let mut a_docs = Vec::new();
    let mut expected: HashMap<NamespaceId, Expected> = HashMap::new();
    for _ in 0..docs_n {
        let author = a.docs.author_create().await?;
        let doc = a.docs.create().await?;
        let exp = expected.entry(doc.id()).or_default();
        fill_doc(&doc, author, &mut posts, per_doc, exp).await?;
        doc.start_sync(vec![]).await?; // A accepts sync requests for the doc
        a_docs.push((doc, author));
    }
    tracing::info!("notify setup: A has {docs_n} docs of {per_doc} entries ({:?})", t.elapsed());

    // The follower B (replica store in a redb file) imports every doc and pulls them once.
    let store = StoreDir::new("b")?;
    let sk_b = SecretKey::generate();
    let me = sk_b.public();
    let mut b = Node::follower("B", &a, sk_b.clone(), Some(&store.db()), probe).await?;
    let mut ids = Vec::new();
    for (doc_a, _) in &a_docs {
        let cap = doc_a.share(ShareMode::Read, AddrInfoOptions::Id).await?.capability;
        let doc_b = b.docs.import_namespace(cap).await?;
        doc_b.set_download_policy(DownloadPolicy::NothingExcept(vec![])).await?;
        ids.push(doc_b.id());
    }
    let open_all = |b: &Node| {
        let (sync, ids) = (b.sync.clone(), ids.clone());
        async move {
            for ns in ids {
                sync.open(ns, OpenOpts::default().sync()).await?;
            }
            anyhow::Ok(())
        }
    };
    open_all(&b).await?;
    let link = Link::open(&a, o.rtt).await?;
    let _ = Window::start(&link, probe, &a); // points the probe at this relay
    let pr = pull_docs(&b, &link.addr, &ids, &HashSet::new(), Instant::now()).await;
    ensure!(pr.errors.is_empty(), "notify setup: {:?}", pr.errors.first());
    check_follower(&b, &ids, &expected, None).await?;
    tracing::info!("notify setup: B pulled {docs_n} docs in {:?}", pr.t_done);
    let mut link = Some(link);

    let mut runs = Vec::new();
    let mut mentions: HashSet<(NamespaceId, Vec<u8>)> = HashSet::new();
    for i in 0..o.runs {
        // B goes offline
        b.shutdown().await;
        tokio::time::sleep(o.settle()).await;
        drop(link.take());
        // 5 authors post an entry mentioning B: key = post key ++ "/mention/" ++ B's id
        let mut changed = HashSet::new();
        for (doc, author) in a_docs.iter().step_by(docs_n / changed_n).take(changed_n) {
            let (key, mut content) = posts.next();
            let mut key = key.to_vec();
            key.extend_from_slice(b"/mention/");
            key.extend_from_slice(me.as_bytes());
            content.extend_from_slice(format!(" @{me}").as_bytes());
            let hash = doc.set_bytes(*author, key.clone(), content).await?;
            expected.get_mut(&doc.id()).unwrap().insert(key.clone(), hash);
            mentions.insert((doc.id(), key));
            changed.insert(doc.id());
        }
        tokio::time::sleep(o.settle()).await;
        // B restarts (same key and store) and reconnects: one connect_and_sync per doc
        b = Node::follower("B", &a, sk_b.clone(), Some(&store.db()), probe).await?;
        open_all(&b).await?;
        tokio::time::sleep(o.settle()).await;
        let l = Link::open(&a, o.rtt).await?;
        let w = Window::start(&l, probe, &a);
        rt.reset();
        let t0 = Instant::now();
        let pr = pull_docs(&b, &l.addr, &ids, &changed, t0).await;
        tokio::time::sleep(o.settle()).await;
        let sample = w.sample()?;
        ensure!(pr.errors.is_empty(), "notify_200: {} syncs failed: {:?}", pr.errors.len(), pr.errors.first());
        let found = check_follower(&b, &ids, &expected, Some(me)).await?;
        ensure!(found == mentions.len(), "notify_200: found {found} mentions, expected {}", mentions.len());
        let t_found = pr.t_watch.context("no changed doc")?;
        tracing::info!(run = i, ?t_found, t_all = ?pr.t_done, bytes = sample.bytes, "notify_200");
        runs.push(Run::new(t_found, sample, rt, json!({
            "ms_all_docs_synced": ms(pr.t_done),
            "docs_resynced": pr.ok + pr.close_errors,
            "sync_close_errors": pr.close_errors,
            "mentions_found": found,
        })));
        link = Some(l);
    }
    let note = format!(
        "{docs_n} docs (one per followed author, {per_doc} entries each), all synced to the follower; the follower \
         went offline (endpoint closed); {changed_n} authors each added an entry mentioning it (key = post key ++ \
         '/mention/' ++ the follower's id, so the follower finds mentions by key without fetching bodies); the \
         follower restarted (same key, same redb replica store) and re-synced all {docs_n} docs with A concurrently, \
         one iroh_docs::net::connect_and_sync per doc (the per-doc sync the live engine runs; iroh-docs has no \
         multi-doc sync, so this is {docs_n} QUIC connections + handshakes and {docs_n} reconciliation sessions). \
         ms: from the first call (before connecting) until the {changed_n} changed docs' sessions had all returned, \
         i.e. the follower held the {changed_n} mentions; ms_all_docs_synced: until all {docs_n} had. Bytes: the \
         whole reconnect, all {docs_n} sessions, read {} ms after the last. Verified: every doc holds exactly its \
         expected entries and the follower's docs hold exactly the mentions posted so far. sync_close_errors = \
         sessions that exchanged everything but then hit iroh-docs' stream-teardown bug (read_to_end on an already \
         finished stream). The live engine (start_sync on {docs_n} docs) is not used: it deadlocks iroh-docs 0.101 \
         + iroh-gossip 0.101 with this many docs between two peers.",
        o.settle().as_millis()
    );
    let notify = figure(runs, note);
    b.shutdown().await;
    drop(link);
    a.shutdown().await;
    Ok(notify)
}

/// Checks every doc of the follower against `expected`; with `me`, counts the entries whose key
/// mentions `me`.
async fn check_follower(
    b: &Node,
    ids: &[NamespaceId],
    expected: &HashMap<NamespaceId, Expected>,
    me: Option<EndpointId>,
) -> Result<usize> {
    let mut found = 0;
    for ns in ids {
        let doc = b.docs.open(*ns).await?.context("doc missing on the follower")?;
        check_doc("notify_200", &doc, &expected[ns]).await?;
        if let Some(me) = me {
            let mut marker = b"/mention/".to_vec();
            marker.extend_from_slice(me.as_bytes());
            let mut s = Box::pin(doc.get_many(Query::all()).await?);
            while let Some(e) = s.next().await {
                if e?.key().ends_with(&marker) {
                    found += 1;
                }
            }
        }
    }
    Ok(found)
}

const USAGE: &str = "usage: iroh-docs-peer [--posts N] [--authors A] [--per-author P] [--runs K] [--rtt-ms R] [--json]";

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("iroh-docs-peer: {e:#}");
        std::process::exit(1);
    }
}

async fn run() -> Result<()> {
    let rt = RtCounter::default();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,iroh_docs::engine=error,iroh_docs_peer=info"));
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_filter(filter))
        .with(rt.clone().with_filter(
            tracing_subscriber::filter::Targets::new()
                .with_target("iroh_docs::engine::live", tracing::Level::TRACE)
                .with_target("iroh_docs::net", tracing::Level::TRACE)
                .with_target("iroh_docs_peer", tracing::Level::TRACE),
        ))
        .init();

    let mut o = Opts { posts: 100_000, authors: 200, per_author: 20, runs: 5, rtt: Duration::ZERO };
    let mut as_json = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |name: &str| -> Result<u64> {
            let v = args.next().with_context(|| format!("{name} needs a value\n{USAGE}"))?;
            v.parse().with_context(|| format!("{name} {v}: not a number"))
        };
        match a.as_str() {
            "--posts" => o.posts = val("--posts")? as usize,
            "--authors" => o.authors = val("--authors")? as usize,
            "--per-author" => o.per_author = val("--per-author")? as usize,
            "--runs" => o.runs = val("--runs")? as usize,
            "--rtt-ms" => o.rtt = Duration::from_millis(val("--rtt-ms")?),
            "--json" => as_json = true,
            "-h" | "--help" => {
                eprintln!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    ensure!(o.runs >= 1 && o.posts >= 1 && o.authors >= 1, "--runs, --posts and --authors must be at least 1");

    let t = Instant::now();
    let probe = Probe::default();
    let (cold, catch, reconnect, full) = bench_big_doc(&o, &rt, &probe).await?;
    let notify = bench_notify(&o, &rt, &probe).await?;
    tracing::info!("done in {:?}", t.elapsed());

    let out = json!({
        "peer": "iroh-docs",
        "versions": {"iroh": "1.4.1", "iroh-docs": "0.101.0", "iroh-blobs": "0.103.1", "iroh-gossip": "0.101.0"},
        "rtt_ms": o.rtt.as_millis() as u64,
        "runs": o.runs,
        "posts": o.posts,
        "authors": o.authors,
        "per_author": o.per_author,
        "bytes_method": "UDP payload bytes (whole QUIC packets: handshakes, ACKs, padding, gossip; no IP/UDP headers) \
                         counted both ways by the rookery-netsim DelayRelay between the follower and A, over the \
                         measured window, read settle ms (300 + RTT) after it ended so ACKs and teardown are in. \
                         bytes_with_handshake = all of it; bytes = that less the handshakes of the QUIC connections \
                         opened in the window, each connection's own UDP bytes (noq ConnectionStats udp_tx + udp_rx) \
                         when iroh's after_handshake hook fired on the follower (for a lone connection this is the \
                         relay's count when it came up: relay_bytes_at_first_handshake). Every path of every \
                         connection is checked to go through the relay (the run fails otherwise); \
                         bytes_at_author_socket is A's own socket count as a cross-check.",
        "ms_method": "median of the runs (the upper middle one for an even count), with min and max; the bytes \
                      and other details are the median run's.",
        "cold_first_screen": cold,
        "catch_up_10": catch,
        "catch_up_10_reconnect": reconnect,
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

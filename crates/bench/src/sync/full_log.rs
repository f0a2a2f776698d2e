//! The full-log peer: SSB's cost model at Rust speed. Every message of an author is sent over
//! one iroh stream from the seq the asker holds, signature-checked (on every core, as Rookery
//! does), chain-checked and written to redb, as SSB's replication does; no push, so "live" is a
//! request on the open connection.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use iroh::endpoint::Connection;
use iroh::protocol::{AcceptError, ProtocolHandler, Router};
use iroh::{Endpoint, EndpointAddr};
use rookery_feed::{Content, SecretKey, SignedMessage};
use rookery_node::{Bundle, FIRST_SCREEN, NetOptions};
use rookery_testkit::{FeedBuilder, Rng};
use tokio::io::AsyncReadExt;

use super::rookery::author_key;
use crate::measure::{Figure, Run, delayed_addr};

const ALPN: &[u8] = b"rookery-bench/full-log/1";

/// Each author's signed messages, in seq order.
type Logs = BTreeMap<[u8; 32], Vec<Vec<u8>>>;

/// The log server.
#[derive(Debug, Clone)]
struct LogServer(Arc<RwLock<Logs>>);

impl ProtocolHandler for LogServer {
    async fn accept(&self, conn: Connection) -> Result<(), AcceptError> {
        loop {
            let (mut send, mut recv) = conn.accept_bi().await?;
            // Request: postcard Vec<(author, seq held)>; answer: every later message, each
            // length-prefixed, then the stream ends.
            let req = recv
                .read_to_end(1 << 20)
                .await
                .map_err(AcceptError::from_err)?;
            let wanted: Vec<([u8; 32], u64)> =
                postcard::from_bytes(&req).map_err(AcceptError::from_err)?;
            let logs = self.0.read().unwrap_or_else(|e| e.into_inner()).clone();
            for (author, since) in wanted {
                if let Some(log) = logs.get(&author) {
                    for m in log.iter().skip(since as usize) {
                        send.write_all(&(m.len() as u32).to_be_bytes())
                            .await
                            .map_err(AcceptError::from_err)?;
                        send.write_all(m).await.map_err(AcceptError::from_err)?;
                    }
                }
            }
            send.finish().map_err(AcceptError::from_err)?;
        }
    }
}

/// A client holding what it fetched, in its own redb store.
pub(crate) struct LogClient {
    ep: Endpoint,
    conn: Option<Connection>,
    store: rookery_store::Store,
    _dir: tempfile::TempDir,
    held: BTreeMap<[u8; 32], u64>,
}

/// Messages checked at once, on every core.
const BATCH: usize = 1000;

impl LogClient {
    pub(crate) async fn new() -> anyhow::Result<LogClient> {
        let dir = tempfile::tempdir()?;
        Ok(LogClient {
            ep: bind(behind_relay()).await?,
            conn: None,
            store: rookery_store::Store::open(dir.path().join("log.redb"))?,
            _dir: dir,
            held: BTreeMap::new(),
        })
    }

    /// Connects; the bytes of the handshake are what the relay counted meanwhile.
    pub(crate) async fn connect(&mut self, addr: EndpointAddr) -> anyhow::Result<()> {
        self.conn = Some(self.ep.connect(addr, ALPN).await?);
        Ok(())
    }

    pub(crate) fn disconnect(&mut self) {
        if let Some(c) = self.conn.take() {
            c.close(0u32.into(), b"offline");
        }
    }

    /// One request for everything after what is held; every message signature-checked (a
    /// batch at a time, on every core), chain-checked (seq follows seq) and written to redb.
    async fn fetch(&mut self, authors: &[[u8; 32]]) -> anyhow::Result<Vec<SignedMessage>> {
        self.fetch_with(authors, |_| ()).await
    }

    /// [`LogClient::fetch`], showing each batch to `seen` as it is stored.
    pub(crate) async fn fetch_with(
        &mut self,
        authors: &[[u8; 32]],
        mut seen: impl FnMut(&[SignedMessage]),
    ) -> anyhow::Result<Vec<SignedMessage>> {
        let req: Vec<([u8; 32], u64)> = authors
            .iter()
            .map(|a| (*a, self.held.get(a).copied().unwrap_or(0)))
            .collect();
        let conn = self.conn.as_ref().context("not connected")?;
        let (mut send, mut recv) = conn.open_bi().await?;
        send.write_all(&postcard::to_allocvec(&req)?).await?;
        send.finish()?;
        let mut got = Vec::new();
        let mut raw = Vec::new();
        let mut len = [0u8; 4];
        loop {
            let end = match AsyncReadExt::read_exact(&mut recv, &mut len).await {
                Ok(_) => false,
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => true,
                Err(e) => return Err(e.into()),
            };
            if !end {
                let mut buf = vec![0u8; u32::from_be_bytes(len) as usize];
                AsyncReadExt::read_exact(&mut recv, &mut buf).await?;
                raw.push(buf);
            }
            if raw.len() == BATCH || (end && !raw.is_empty()) {
                let batch = tokio::task::block_in_place(|| {
                    rookery_sync::verify::decode_bodies(&std::mem::take(&mut raw))
                })?;
                for m in &batch {
                    let held = self.held.entry(*m.message().author.as_bytes()).or_insert(0);
                    anyhow::ensure!(m.message().seq == *held + 1, "chain broken");
                    *held += 1;
                }
                self.store.import_bodies(&batch)?;
                seen(&batch);
                got.extend(batch);
            }
            if end {
                return Ok(got);
            }
        }
    }
}

/// The client's side of the relay: `[::1]`, so it reaches the server only through the relay.
fn behind_relay() -> NetOptions {
    NetOptions {
        bind: Some(std::net::SocketAddr::from((
            std::net::Ipv6Addr::LOCALHOST,
            0,
        ))),
        ..NetOptions::loopback()
    }
}

async fn bind(opts: NetOptions) -> anyhow::Result<Endpoint> {
    Ok(rookery_sync::bind_endpoint(
        SecretKey::generate(),
        &opts,
        iroh::address_lookup::memory::MemoryLookup::new(),
    )
    .await?)
}

/// The full-log server, online, with the author's log.
pub(crate) struct FullLog {
    logs: Arc<RwLock<Logs>>,
    router: Router,
    pub(crate) addr: EndpointAddr,
    author: [u8; 32],
    /// Ten more messages at a time, for the catch-ups.
    more: std::vec::IntoIter<Bundle>,
}

impl FullLog {
    pub(crate) async fn new(
        author: [u8; 32],
        bodies: &[Vec<u8>],
        more: Vec<Bundle>,
    ) -> anyhow::Result<FullLog> {
        let logs = Arc::new(RwLock::new(BTreeMap::from([(author, bodies.to_vec())])));
        let ep = bind(NetOptions::loopback()).await?;
        let addr = ep.addr();
        let router = Router::builder(ep)
            .accept(ALPN, LogServer(logs.clone()))
            .spawn();
        Ok(FullLog {
            logs,
            router,
            addr,
            author,
            more: more.into_iter(),
        })
    }

    /// Holds `bodies` as `author`'s log too.
    pub(crate) fn add_log(&self, author: [u8; 32], bodies: Vec<Vec<u8>>) {
        self.logs
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(author, bodies);
    }

    fn post_ten(&mut self) -> anyhow::Result<()> {
        let b = self.more.next().context("no more posts prepared")?;
        self.logs
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&self.author)
            .context("log")?
            .extend(b.bodies);
        Ok(())
    }

    /// A new asker takes the whole log: the first screen and the full sync are the same run.
    pub(crate) async fn cold(&self, rtt: Duration, runs: usize) -> anyhow::Result<Figure> {
        let mut out = Vec::new();
        let mut n = 0;
        for _ in 0..runs {
            let (relay, through) = delayed_addr(&self.addr, rtt).await?;
            let mut c = LogClient::new().await?;
            let t = Instant::now();
            c.connect(through).await?;
            let handshake = relay.bytes();
            n = c.fetch(&[self.author]).await?.len();
            out.push(Run::since(t, relay.bytes(), handshake));
            c.disconnect();
        }
        Ok(Figure::of(
            &out,
            format!(
                "the QUIC handshake, then one request: the whole log ({n} messages), signature-checked on every core, chain-checked and stored, before the newest {FIRST_SCREEN} can show"
            ),
        ))
    }

    /// Ten new messages on an open connection: one request from the seq held (there is no
    /// push; the time excludes the wait for a poll).
    pub(crate) async fn catch_up_live(
        &mut self,
        rtt: Duration,
        runs: usize,
    ) -> anyhow::Result<Figure> {
        let (relay, through) = delayed_addr(&self.addr, rtt).await?;
        let mut c = LogClient::new().await?;
        c.connect(through).await?;
        c.fetch(&[self.author]).await?;
        let mut out = Vec::new();
        for _ in 0..runs {
            self.post_ten()?;
            let bytes = relay.bytes();
            let t = Instant::now();
            let got = c.fetch(&[self.author]).await?;
            anyhow::ensure!(got.len() == 10, "{} new messages", got.len());
            out.push(Run::since(t, relay.bytes() - bytes, 0));
        }
        c.disconnect();
        Ok(Figure::of(
            &out,
            "live: one request from the seq held on the open connection (no push: the time excludes the wait for a poll)",
        ))
    }

    /// Ten new messages after being offline: connect, then one request.
    pub(crate) async fn catch_up_reconnect(
        &mut self,
        rtt: Duration,
        runs: usize,
    ) -> anyhow::Result<Figure> {
        let (relay, through) = delayed_addr(&self.addr, rtt).await?;
        let mut c = LogClient::new().await?;
        c.connect(through.clone()).await?;
        c.fetch(&[self.author]).await?;
        c.disconnect();
        let mut out = Vec::new();
        for _ in 0..runs {
            self.post_ten()?;
            let bytes = relay.bytes();
            let t = Instant::now();
            c.connect(through.clone()).await?;
            let handshake = relay.bytes() - bytes;
            let got = c.fetch(&[self.author]).await?;
            anyhow::ensure!(got.len() == 10, "{} new messages", got.len());
            out.push(Run::since(t, relay.bytes() - bytes, handshake));
            c.disconnect();
        }
        Ok(Figure::of(
            &out,
            "online again: the QUIC handshake, then one request from the seq held",
        ))
    }

    /// Notifications after being offline: `authors` logs held; five mention the asker while
    /// it is offline; it connects and names every author with its seq (SSB's EBT clock).
    pub(crate) async fn notify(
        &mut self,
        authors: u64,
        posts: u64,
        rtt: Duration,
        runs: usize,
    ) -> anyhow::Result<Figure> {
        let me = SecretKey::generate().public();
        let mut feeds = Vec::new();
        for i in 0..authors {
            let mut f = FeedBuilder::new(author_key(i), Rng::new(1000 + i));
            let b = f.posts(posts, None)?;
            self.logs
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(*f.author().as_bytes(), b.bodies);
            feeds.push(f);
        }
        let keys: Vec<[u8; 32]> = feeds.iter().map(|f| *f.author().as_bytes()).collect();
        let (relay, through) = delayed_addr(&self.addr, rtt).await?;
        let mut c = LogClient::new().await?;
        c.connect(through.clone()).await?;
        c.fetch(&keys).await?;
        c.disconnect();
        let mut out = Vec::new();
        let mut turn = 0;
        for _ in 0..runs {
            for _ in 0..5 {
                let f = &mut feeds[turn % keys.len()];
                turn += 1;
                let b = f.posts(1, Some((&me, 1)))?;
                self.logs
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_mut(f.author().as_bytes())
                    .context("log")?
                    .extend(b.bodies);
            }
            let bytes = relay.bytes();
            let t = Instant::now();
            c.connect(through.clone()).await?;
            let handshake = relay.bytes() - bytes;
            let got = c.fetch(&keys).await?;
            let mentions = got
                .iter()
                .filter(|m| matches!(&m.message().content, Content::Post(p) if p.mentions.contains(&me)))
                .count();
            anyhow::ensure!(mentions == 5, "{mentions} mentions");
            out.push(Run::since(t, relay.bytes() - bytes, handshake));
            c.disconnect();
        }
        for k in &keys {
            self.logs
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .remove(k);
        }
        Ok(Figure::of(
            &out,
            format!(
                "online again: the QUIC handshake, one request naming {authors} authors with their seqs (SSB's EBT clock), the 5 new messages back"
            ),
        ))
    }

    pub(crate) async fn shutdown(self) -> anyhow::Result<()> {
        self.router.shutdown().await?;
        Ok(())
    }
}

//! A delaying UDP relay on loopback: latency for the benchmarks (and any test that wants it),
//! since `tc netem` is not on these machines.
//!
//! [`DelayRelay::start`] listens on loopback in front of one target address. Every datagram a
//! client sends to the relay reaches the target half a round trip later, from a socket of its
//! own for that client (so the target sees one address per client), and every answer goes back
//! the same way: a constant delay each way, order kept, nothing dropped (its sockets ask for
//! [`SOCKET_BUFFER`]: with the default buffer of about 200 KB, a sender's burst overflowed it
//! while the relay's task waited for a busy core, and the loss cut the sender's congestion window
//! — a loss no real link of that latency had). The relay also counts
//! the UDP payload bytes in each direction — the same count for every peer measured through it.
//!
//! The relay listens on the other address family than the target's (`[::1]` in front of an
//! IPv4 target, `127.0.0.1` in front of an IPv6 one). Peers that tell each other their addresses
//! (iroh's NAT traversal does, and opens a direct path when it can) would otherwise go around
//! the relay; a client bound to that other family alone cannot reach the target directly, nor
//! the target it (a socket bound to `::1` cannot send to IPv4, nor one bound to `127.0.0.1` to
//! IPv6).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// The largest datagram relayed.
const MAX_DATAGRAM: usize = 65_535;
/// The receive and send buffers the relay's sockets ask for (the kernel caps them at
/// `net.core.rmem_max` and `wmem_max`, 4 MiB on these machines): a few thousand datagrams.
pub const SOCKET_BUFFER: usize = 4 << 20;

/// A UDP socket bound to `addr` with [`SOCKET_BUFFER`]s.
fn bind(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_recv_buffer_size(SOCKET_BUFFER)?;
    socket.set_send_buffer_size(SOCKET_BUFFER)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

/// Bytes relayed so far.
#[derive(Debug, Default)]
struct Counts {
    to_target: AtomicU64,
    to_clients: AtomicU64,
}

/// A running relay; stops when dropped.
#[derive(Debug)]
pub struct DelayRelay {
    addr: SocketAddr,
    rtt: Duration,
    counts: Arc<Counts>,
    _tasks: JoinSet<()>,
}

impl DelayRelay {
    /// A relay in front of `target` adding `rtt` to every round trip (half each way); it
    /// listens on the other address family's loopback (see the module docs).
    pub async fn start(target: SocketAddr, rtt: Duration) -> std::io::Result<Self> {
        let front = Arc::new(bind(other_family(target))?);
        let addr = front.local_addr()?;
        let counts = Arc::new(Counts::default());
        let mut tasks = JoinSet::new();
        tasks.spawn(relay(front, target, rtt / 2, counts.clone()));
        Ok(DelayRelay {
            addr,
            rtt,
            counts,
            _tasks: tasks,
        })
    }

    /// Where clients send to reach the target.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The round trip it adds.
    pub fn rtt(&self) -> Duration {
        self.rtt
    }

    /// UDP payload bytes relayed so far, both ways.
    pub fn bytes(&self) -> u64 {
        self.counts.to_target.load(Ordering::Relaxed)
            + self.counts.to_clients.load(Ordering::Relaxed)
    }
}

/// Loopback of the other address family than `addr`'s, any port.
pub fn other_family(addr: SocketAddr) -> SocketAddr {
    if addr.is_ipv4() {
        SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 0))
    } else {
        SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0))
    }
}

/// Loopback of the same address family as `addr`'s, any port.
fn same_family(addr: SocketAddr) -> SocketAddr {
    other_family(other_family(addr))
}

/// Datagrams waiting for their time, in the order they came.
type Delayed = mpsc::UnboundedSender<(Instant, Vec<u8>)>;

/// Sends each datagram at its time, in order, to `to` through `socket` (`None`: the socket's
/// connected peer).
fn sender(socket: Arc<UdpSocket>, to: Option<SocketAddr>, tasks: &mut JoinSet<()>) -> Delayed {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    tasks.spawn(async move {
        while let Some((at, packet)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            let _ = match to {
                Some(to) => socket.send_to(&packet, to).await,
                None => socket.send(&packet).await,
            };
        }
    });
    tx
}

async fn relay(front: Arc<UdpSocket>, target: SocketAddr, one_way: Duration, counts: Arc<Counts>) {
    let mut tasks = JoinSet::new();
    let mut upstream: HashMap<SocketAddr, Delayed> = HashMap::new();
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let Ok((n, client)) = front.recv_from(&mut buf).await else {
            return;
        };
        let at = Instant::now() + one_way;
        counts.to_target.fetch_add(n as u64, Ordering::Relaxed);
        if let std::collections::hash_map::Entry::Vacant(slot) = upstream.entry(client) {
            let Ok(up) = bind(same_family(target)) else {
                continue;
            };
            if up.connect(target).await.is_err() {
                continue;
            }
            let up = Arc::new(up);
            let to_target = sender(up.clone(), None, &mut tasks);
            let to_client = sender(front.clone(), Some(client), &mut tasks);
            let counts = counts.clone();
            tasks.spawn(async move {
                let mut buf = vec![0u8; MAX_DATAGRAM];
                while let Ok(n) = up.recv(&mut buf).await {
                    counts.to_clients.fetch_add(n as u64, Ordering::Relaxed);
                    let at = Instant::now() + one_way;
                    if to_client.send((at, buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
            });
            slot.insert(to_target);
        }
        if let Some(up) = upstream.get(&client) {
            let _ = up.send((at, buf[..n].to_vec()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn delays_each_way_keeps_order_and_counts() {
        let echo = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let target = echo.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            while let Ok((n, from)) = echo.recv_from(&mut buf).await {
                let _ = echo.send_to(&buf[..n], from).await;
            }
        });
        let relay = DelayRelay::start(target, Duration::from_millis(40))
            .await
            .unwrap();
        // The client is on the other family: it reaches the echo only through the relay.
        let client = UdpSocket::bind(other_family(target)).await.unwrap();
        assert!(client.send_to(b"direct", target).await.is_err());
        client.connect(relay.addr()).await.unwrap();
        let t = Instant::now();
        for i in 0..20u8 {
            client.send(&[i; 100]).await.unwrap();
        }
        let mut buf = [0u8; 1500];
        for i in 0..20u8 {
            let n = client.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], &[i; 100]);
        }
        // A whole round trip passed (never less: the delay is a floor, not a measurement).
        assert!(t.elapsed() >= Duration::from_millis(40));
        assert_eq!(relay.bytes(), 4000);
    }

    #[tokio::test]
    async fn a_burst_larger_than_a_default_socket_buffer_is_not_dropped() {
        // The target reads only after the whole burst was sent.
        let target = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let relay = DelayRelay::start(target.local_addr().unwrap(), Duration::from_millis(10))
            .await
            .unwrap();
        // 1,250 datagrams of 1,200 B sent at once from a blocking socket: this test's runtime
        // has one thread, so the relay reads none of them until the burst is over. A default
        // buffer (about 200 KB) would hold fewer than a hundred.
        let client = std::net::UdpSocket::bind(other_family(target.local_addr().unwrap())).unwrap();
        client.connect(relay.addr()).unwrap();
        const N: u32 = 1250;
        for i in 0..N {
            let mut d = vec![0u8; 1200];
            d[..4].copy_from_slice(&i.to_be_bytes());
            client.send(&d).unwrap();
        }
        let mut buf = [0u8; 1500];
        for i in 0..N {
            let n = tokio::time::timeout(Duration::from_secs(5), target.recv(&mut buf))
                .await
                .unwrap_or_else(|_| panic!("datagram {i} of {N} never came"))
                .unwrap();
            assert_eq!(n, 1200);
            assert_eq!(buf[..4], i.to_be_bytes(), "in order, none lost");
        }
        assert_eq!(relay.bytes(), u64::from(N) * 1200);
    }
}

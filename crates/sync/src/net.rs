//! Endpoints and tickets.
//!
//! Online (the default for real use), an endpoint uses iroh's relays and its n0 address lookup
//! (DNS/pkarr), so a key alone is enough to reach someone. Offline (a setting, the CLI's
//! `--offline`, and every test), relays and discovery are off and peers are dialled by the
//! direct addresses in a ticket or the address cache. Local-network discovery (mDNS, from
//! `iroh-mdns-address-lookup`) is on unless turned off (tests, loopback binds).
//!
//! The QUIC transport is iroh's, with one change ([`transport_config`]): path MTU discovery
//! probes once, straight to 1,452 bytes, instead of a binary search from 1,200 (1,326, 1,389,
//! 1,420, then 1,452: 5.6 KB of padding each way). Rookery's exchanges are mostly a few KB (a
//! catch-up, the notifications after a reconnect), so those probes were about 40% of their
//! bytes.

use std::net::SocketAddr;
use std::str::FromStr;

use iroh::address_lookup::memory::MemoryLookup;
use iroh::endpoint::{MtuDiscoveryConfig, QuicTransportConfig, presets};
use iroh::{Endpoint, EndpointAddr, RelayMode, SecretKey};
use iroh_tickets::endpoint::EndpointTicket;

use crate::wire::ALPN;

/// How a node reaches the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetOptions {
    /// Relays and iroh's address lookup on (real use) or off (loopback and LAN only).
    pub online: bool,
    /// Local-network discovery (mDNS): peers on the same LAN find each other by key, with no
    /// relay or internet.
    pub mdns: bool,
    /// The address to bind; `None`: any port on all interfaces (online) or on 127.0.0.1.
    pub bind: Option<SocketAddr>,
}

impl Default for NetOptions {
    fn default() -> Self {
        NetOptions {
            online: true,
            mdns: true,
            bind: None,
        }
    }
}

impl NetOptions {
    /// Loopback only, relays and discovery off: for tests and benchmarks.
    pub fn loopback() -> Self {
        NetOptions {
            online: false,
            mdns: false,
            bind: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        }
    }
}

/// Binds an endpoint for `rookery/sync/2` with the node's key. `lookup` holds the addresses
/// the node knows (from tickets and its cache), so peers can be dialled by key alone.
pub async fn bind_endpoint(
    key: SecretKey,
    opts: &NetOptions,
    lookup: MemoryLookup,
) -> Result<Endpoint, BindFailed> {
    let mut b = if opts.online {
        Endpoint::builder(presets::N0)
    } else {
        Endpoint::builder(presets::Minimal)
            .relay_mode(RelayMode::Disabled)
            .clear_address_lookup()
    };
    b = b
        .secret_key(key)
        .alpns(vec![ALPN.to_vec()])
        .address_lookup(lookup)
        .transport_config(transport_config());
    if opts.mdns {
        b = b.address_lookup(iroh_mdns_address_lookup::MdnsAddressLookup::builder());
    }
    let bind = opts.bind.unwrap_or(if opts.online {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([127, 0, 0, 1], 0))
    });
    if opts.bind.is_some() || !opts.online {
        b = b.clear_ip_transports();
        b = b.bind_addr(bind).map_err(|e| BindFailed(e.to_string()))?;
    }
    b.bind().await.map_err(|e| BindFailed(e.to_string()))
}

/// iroh's QUIC transport, with path MTU discovery that probes once: straight to the largest
/// datagram it looks for (1,452 bytes, Ethernet's), and on a path that drops it, stays at
/// 1,200 (what every QUIC path carries) rather than searching between. A `minimum_change`
/// wider than the whole range makes the search take that one step.
pub fn transport_config() -> QuicTransportConfig {
    let mut mtu = MtuDiscoveryConfig::default();
    mtu.minimum_change(200);
    QuicTransportConfig::builder()
        .mtu_discovery_config(Some(mtu))
        .build()
}

/// The endpoint could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("could not start networking: {0}")]
pub struct BindFailed(pub String);

/// A copyable string that says how to reach a node: its key, relay and direct addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket(pub EndpointAddr);

impl Ticket {
    /// The ticket of an endpoint as it is now.
    pub fn of(ep: &Endpoint) -> Self {
        Ticket(ep.addr())
    }
}

impl std::fmt::Display for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        EndpointTicket::new(self.0.clone()).fmt(f)
    }
}

impl FromStr for Ticket {
    type Err = iroh_tickets::ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Ticket(EndpointTicket::from_str(s.trim())?.into()))
    }
}

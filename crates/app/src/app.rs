//! [`App`]: the node with the operations of the UI, one method per command of the table
//! (`commands.rs`), each taking its generated arguments and returning a view. The desktop
//! shell, the HTTP server, the CLI and the tests all call these; below them the node speaks
//! domain types.
//!
//! Online, reads go through [`Network::read`], so a screen that meets data not fetched yet
//! fetches it from the sessions instead of failing. Offline (the CLI's commands that do not go
//! online), the same methods run against the store alone, with the same rules. Arguments arrive
//! as text from an untrusted UI and are parsed here, with a readable error for anything
//! malformed.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use rookery_node::{Bundle, NetConfig, NetOptions, Network, Node, NodeError, NodeEvent, Ticket};
use tokio::sync::broadcast;

use crate::AppError;
use crate::demo::Demo;
use crate::hex;
use crate::view::{Event, MessageView, Notification, PeerView};

/// How the app goes online, on top of the settings stored in the node.
#[derive(Clone, Debug, Default)]
pub struct AppOptions {
    /// Direct addresses only, whatever the relays setting says.
    pub offline: bool,
    /// The UDP address to bind (default: all interfaces, the port used last time).
    pub bind: Option<SocketAddr>,
    /// Peers to keep a session with ("pubs").
    pub pubs: Vec<Ticket>,
    /// Online: wait (up to 5 s) for a home relay before returning, so the first ticket carries
    /// it. A command that prints the ticket wants this; the desktop app shows its window at once
    /// and its UI reads the ticket again when it shows it (by then with the relay).
    pub wait_for_relay: bool,
}

/// The node, online or not, with the operations of the UI.
#[derive(Debug)]
pub struct App {
    pub(crate) node: Arc<Node>,
    pub(crate) net: Option<Network>,
    /// Relays on for this run (the setting, unless `--offline`).
    pub(crate) relays: bool,
    /// The relays setting as it was at start: a change from it needs a restart.
    pub(crate) relays_setting: bool,
    pub(crate) demo: tokio::sync::Mutex<Option<Demo>>,
    pub(crate) restart_required: AtomicBool,
}

impl App {
    /// The node offline: the same operations over the store alone (the CLI's commands that
    /// do not go online).
    pub fn offline(node: Node) -> App {
        App {
            node: Arc::new(node),
            net: None,
            relays: false,
            relays_setting: false,
            demo: tokio::sync::Mutex::new(None),
            restart_required: AtomicBool::new(false),
        }
    }

    /// Starts `node` online with its stored settings (relays, the last port) and `options`.
    pub async fn start(node: Node, options: AppOptions) -> Result<App, AppError> {
        let settings = node.settings()?;
        let bind = options
            .bind
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], settings.udp_port.unwrap_or(0))));
        let online = settings.relays && !options.offline;
        let config = NetConfig {
            net: NetOptions {
                online,
                mdns: !bind.ip().is_loopback(),
                bind: Some(bind),
            },
            pubs: options.pubs,
            ..NetConfig::default()
        };
        let node = Arc::new(node);
        let net = node.start(config).await?;
        if let Some(port) = net.endpoint().bound_sockets().first().map(|a| a.port()) {
            node.update_settings(|s| s.udp_port = Some(port))?;
        }
        if online && options.wait_for_relay {
            // Wait a little for a relay, so the ticket carries one.
            let _ = tokio::time::timeout(Duration::from_secs(5), net.endpoint().online()).await;
        }
        Ok(App {
            node,
            net: Some(net),
            relays: online,
            relays_setting: settings.relays,
            demo: tokio::sync::Mutex::new(None),
            restart_required: AtomicBool::new(false),
        })
    }

    /// The node underneath.
    pub fn node(&self) -> &Arc<Node> {
        &self.node
    }

    /// The network underneath, when online.
    pub fn network(&self) -> Option<&Network> {
        self.net.as_ref()
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.node.data_dir()
    }

    /// Runs a read: through the sessions when online, so what is missing is fetched.
    pub(crate) async fn read<T>(
        &self,
        f: impl Fn(&Node) -> Result<T, NodeError>,
    ) -> Result<T, AppError> {
        Ok(match &self.net {
            Some(net) => net.read(f).await?,
            None => f(&self.node)?,
        })
    }

    /// `m` as shown, with its author's name.
    pub(crate) fn message(&self, m: &rookery_feed::SignedMessage) -> Result<MessageView, AppError> {
        let name = self.node.name_of(&m.message().author)?;
        Ok(MessageView::of(m, name))
    }

    /// Whether a desktop notification of `kind` is to be shown: notifications are on, and
    /// so is that kind.
    pub fn notifies(&self, kind: crate::view::NotificationKind) -> bool {
        use crate::view::NotificationKind::*;
        self.node.settings().is_ok_and(|s| {
            s.notifications
                && match kind {
                    Mention => s.notify.mentions,
                    Reply => s.notify.replies,
                    Follow => s.notify.follows,
                }
        })
    }

    /// Events from now on, as views.
    pub fn events(&self) -> Events {
        Events {
            rx: self.node.subscribe(),
            node: self.node.clone(),
        }
    }

    /// Stops the demo peers and goes offline.
    pub async fn shutdown(&self) {
        if let Some(d) = self.demo.lock().await.take() {
            d.shutdown().await;
        }
        if let Some(net) = &self.net {
            net.shutdown().await;
        }
    }

    // ----- what the command line does besides -----

    /// Everything held of `author`'s feed (mine if `None`), as a bundle file's bytes.
    pub fn export_bundle(&self, author: Option<&str>) -> Result<(Vec<u8>, usize, usize), AppError> {
        let author = author.map(hex::key).transpose()?.unwrap_or(self.node.id());
        let b = self.node.export(&author)?;
        Ok((b.to_bytes(), b.bodies.len(), b.nodes.len()))
    }

    /// Takes in a bundle file's bytes, verifying everything in it.
    pub fn import_bundle(&self, bytes: &[u8]) -> Result<rookery_node::Imported, AppError> {
        Ok(self.node.import(&Bundle::from_bytes(bytes)?)?)
    }
}

/// A peer's state as shown, with names from `node`.
pub(crate) fn peer_view(node: &Node, p: &rookery_node::PeerState) -> PeerView {
    PeerView::of(p, |k| node.name_of(k).ok().flatten())
}

/// The node's events as views.
#[derive(Debug)]
pub struct Events {
    rx: broadcast::Receiver<NodeEvent>,
    node: Arc<Node>,
}

/// What [`Events::next`] gives.
#[derive(Debug)]
pub enum Next {
    /// An event.
    Event(Box<Event>),
    /// This many events were missed (the reader fell behind): reload what is shown.
    Missed(u64),
    /// The node stopped.
    Closed,
}

impl Events {
    /// The next event.
    pub async fn next(&mut self) -> Next {
        {
            let e = match self.rx.recv().await {
                Ok(e) => e,
                Err(broadcast::error::RecvError::Lagged(n)) => return Next::Missed(n),
                Err(broadcast::error::RecvError::Closed) => return Next::Closed,
            };
            let view = match &e {
                NodeEvent::Published(m) => {
                    let name = self.node.name_of(&m.message().author).ok().flatten();
                    Event::Published {
                        message: MessageView::of(m, name),
                    }
                }
                NodeEvent::HeadImported { author, seq } => Event::HeadImported {
                    author: hex::format_key(author),
                    seq: *seq,
                },
                NodeEvent::Notification(n) => Event::Notification {
                    notification: Notification::from(n),
                },
                NodeEvent::Peer(p) => Event::Peer {
                    peer: peer_view(&self.node, p),
                },
            };
            Next::Event(Box::new(view))
        }
    }
}

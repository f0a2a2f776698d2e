//! A first screen: what the UI needs of an author the moment a newer head of theirs is shown —
//! the newest posts (a `Range` proof for an author never held, a `Diff` from our root for one
//! held), the new mentions of me (a `Diff` of their `mentions` index on my key's range) and
//! their profile — asked for together, in one round trip, and imported with the head in one
//! transaction, so the timeline and the notifications appear together.

use std::sync::Arc;

use rookery_feed::{Index, SignedHead, keys};
use rookery_prolly::{EMPTY_ROOT, Hash, KeyRange, Query};
use rookery_sync::{Batch, Client, ClientError, Fault};

use super::{FIRST_SCREEN, NetError, Shared};

/// The most new messages a first screen takes as a diff (at most 8 MiB of bodies held at once);
/// more, and it takes the newest screen, and the catch-up brings the rest.
const DIFF_UP_TO: u64 = 1024;

/// Fetches and imports the first screen of `head`'s author from `client`; `held` is the head
/// held before, if any, and `pushed` what came with the head (a catch-up: see
/// [`rookery_sync::CatchUpAsk`]). What `pushed` gives is not asked for.
pub(crate) async fn run(
    shared: &Arc<Shared>,
    client: &Client,
    head: &SignedHead,
    held: Option<&SignedHead>,
    pushed: Option<Batch>,
) -> Result<(), NetError> {
    let node = &shared.node;
    let h = head.head();
    let author = h.author;
    // A diff from the root held brings exactly what is new; past a few screens of new posts,
    // the newest screen is enough now (the catch-up brings the rest), and the first screen
    // stays small whatever the peer has.
    let near = held.filter(|o| h.seq.saturating_sub(o.head().seq) <= DIFF_UP_TO);
    // Home's first page may have brought this head's newest posts already.
    let shown = node
        .store()
        .head(&author)?
        .is_some_and(|s| s.bytes() == head.bytes())
        && node.has_first_screen(&author);
    let peer = client.peer();
    // Bodies pushed that did not rebuild the tree would not if asked for again.
    let bodies_tried = near.is_some() && pushed.is_some();
    let (pushed_screen, pushed_mentions) = match (near, pushed) {
        (Some(old), Some(p)) => node.take_pushed(old, head, p)?,
        _ => (None, None),
    };
    let screen = async {
        if let Some(b) = pushed_screen {
            return Ok(b);
        }
        match near {
            None if shown => Ok(Batch::default()),
            None => {
                let q = Query::new(KeyRange::all()).reverse().limit(FIRST_SCREEN);
                client
                    .range(&author, Index::Messages, &h.roots.messages, &q)
                    .await
                    .map(|a| a.batch)
                    .map_err(|e| NetError::client(peer, e))
            }
            Some(old) => catch_up(shared, client, old, head, bodies_tried).await,
        }
    };
    let old_mentions = held.map_or(EMPTY_ROOT, |o| o.head().roots.mentions);
    let mine = keys::mentions_of(&node.id());
    // Every mention of me new since the head held is a post new since it, which the diff of
    // messages brings with its body: the mentions diff then needs no bodies of its own.
    let bodies = near.is_none();
    let mentions = async {
        match pushed_mentions {
            Some(nodes) => Ok(Batch {
                nodes,
                bodies: vec![],
            }),
            None => collect_diff(client, head, Index::Mentions, &old_mentions, &mine, bodies).await,
        }
    };
    let about = async {
        match h.about {
            Some(id) if node.store().body(&id)?.is_none() => {
                let mut b = Batch::default();
                client
                    .fetch(Some(&author), &[], &[id], false, |x| {
                        b.bodies.extend(x.bodies);
                        Ok(())
                    })
                    .await
                    .map_err(|e| NetError::client(client.peer(), e))?;
                Ok::<_, NetError>(b)
            }
            _ => Ok(Batch::default()),
        }
    };
    let (screen, mentions, about) = tokio::join!(screen, mentions, about);
    let mut all = screen?;
    for b in [mentions.map_err(|e| NetError::client(peer, e))?, about?] {
        all.nodes.extend(b.nodes);
        all.bodies.extend(b.bodies);
    }
    take(shared, client, head, all)
}

/// The new posts of an author held at `old`: their bodies alone, from which the new
/// `messages` tree is rebuilt here and checked against the root `head` signs — the nodes
/// would only repeat what the bodies and the path held already give. Where it cannot be
/// rebuilt (or the root does not match), the nodes are asked for, with the bodies again
/// (those received are not trusted then): one more round trip, only then. With
/// `bodies_tried`, the bodies came with the head and did not rebuild it: the nodes are asked
/// for at once.
async fn catch_up(
    shared: &Shared,
    client: &Client,
    old: &SignedHead,
    head: &SignedHead,
    bodies_tried: bool,
) -> Result<Batch, NetError> {
    let h = head.head();
    let peer = client.peer();
    let from = old.head().roots.messages;
    let all = KeyRange::all();
    if from == h.roots.messages {
        return Ok(Batch::default());
    }
    if bodies_tried {
        return collect_diff(client, head, Index::Messages, &from, &all, true)
            .await
            .map_err(|e| NetError::client(peer, e));
    }
    let mut bodies = Vec::new();
    client
        .diff_bodies(
            &h.author,
            Index::Messages,
            &from,
            &h.roots.messages,
            &all,
            old.head().seq,
            h.seq,
            |b| {
                bodies.extend(b.bodies);
                Ok(())
            },
        )
        .await
        .map_err(|e| NetError::client(peer, e))?;
    if let Some(nodes) = shared.node.rebuild_messages(old, head, &bodies)? {
        return Ok(Batch { nodes, bodies });
    }
    collect_diff(client, head, Index::Messages, &from, &all, true)
        .await
        .map_err(|e| NetError::client(peer, e))
}

impl crate::Node {
    /// Whether `author`'s newest posts are here to show (their head alone may be), blocked
    /// or not: a block hides them, it does not mean they are held.
    pub(crate) fn has_first_screen(&self, author: &rookery_feed::PublicKey) -> bool {
        let Ok(ctx) = crate::read::Ctx::new(self) else {
            return false;
        };
        ctx.head_of(author)
            .and_then(|h| ctx.merged(h.into_iter().collect(), None, FIRST_SCREEN))
            .is_ok()
    }
}

/// Imports `batch` with `head`. A head or data our rules refuse (a rollback, a fork) is the
/// peer's fault; a failure of our store is ours.
pub(crate) fn take(
    shared: &Shared,
    client: &Client,
    head: &SignedHead,
    batch: Batch,
) -> Result<(), NetError> {
    match shared
        .node
        .import_checked(head, &batch.nodes, &batch.bodies)
    {
        Ok(_) => Ok(()),
        Err(e) if e.is_refusal() => Err(NetError::Peer {
            peer: client.peer(),
            source: ClientError::Fault(Fault::Refused(e.to_string())),
        }),
        Err(e) => Err(e.into()),
    }
}

/// A whole `Diff` answer (with the bodies it names, if `bodies`), verified, in memory.
async fn collect_diff(
    client: &Client,
    head: &SignedHead,
    index: Index,
    from: &Hash,
    range: &KeyRange,
    bodies: bool,
) -> Result<Batch, ClientError> {
    let mut all = Batch::default();
    let h = head.head();
    let to = h.roots.get(index);
    if *from == to {
        return Ok(all);
    }
    client
        .diff(&h.author, index, from, &to, range, bodies, h.seq, |b| {
            all.nodes.extend(b.nodes);
            all.bodies.extend(b.bodies);
            Ok(())
        })
        .await?;
    Ok(all)
}

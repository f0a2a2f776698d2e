//! A small catch-up pushed with a head ([`CatchUpAsk`]): the bodies of the messages newer than
//! the seq the subscriber holds, and the nodes of the head's `mentions` tree new on the
//! subscriber's key range.
//!
//! The subscriber names only a seq, not its roots, so the `mentions` root it holds is rebuilt
//! here: the current tree with the gap's messages taken out again. A Prolly tree is
//! history-independent, so that is exactly the tree signed at that seq, and the delta from it
//! is exactly what a `Diff` from the subscriber's root would bring. If anything needed is not
//! here (a sparse holder, a deleted message's body), less or nothing is pushed: the subscriber
//! checks what it got and asks for the rest, as it would have without the push.

use std::collections::HashSet;

use rookery_feed::{Content, SignedHead, SignedMessage, index_edits, keys, own_entries};
use rookery_prolly::{Edit, KeyRange, Overlay, Prolly, Query};

use super::answer::{Answers, id_of};
use crate::wire::CatchUpAsk;

/// How many entries past the gap's size the newest end of a `messages` tree is read to find
/// the gap's messages (their keys are ordered by timestamp, which a feed need not keep).
const SCAN_SLACK: u64 = 32;

/// The encoded bodies and `mentions` nodes pushed with a head.
#[derive(Debug, Default)]
pub(crate) struct Pushed {
    pub(crate) bodies: Vec<Vec<u8>>,
    pub(crate) mentions: Vec<Vec<u8>>,
}

impl Answers {
    /// The catch-up from `since` to `head` for a subscriber that asked `ask`: empty if the
    /// gap is not small, or the gap's messages cannot all be found here.
    pub(crate) fn catch_up(&self, head: &SignedHead, since: u64, ask: &CatchUpAsk) -> Pushed {
        let h = head.head();
        let gap = h.seq.saturating_sub(since);
        if since == 0 || gap == 0 || gap > u64::from(ask.up_to) {
            return Pushed::default();
        }
        let Some(gap_messages) = self.gap(head, since, gap) else {
            return Pushed::default();
        };
        let mentions = self
            .mentions_since(head, since, &gap_messages, ask)
            .unwrap_or_default();
        Pushed {
            bodies: gap_messages.iter().map(|m| m.bytes().to_vec()).collect(),
            mentions,
        }
    }

    /// The messages of `head`'s author after `since` that its `messages` tree holds (a message
    /// deleted within the gap is not there, nor needed): read from the newest key down until
    /// every seq of the gap is accounted for, `None` if that takes more than the gap and
    /// [`SCAN_SLACK`] entries or a body is not here.
    fn gap(&self, head: &SignedHead, since: u64, gap: u64) -> Option<Vec<SignedMessage>> {
        let h = head.head();
        let mut accounted = HashSet::new();
        let mut out = Vec::new();
        let newest = self
            .trees()
            .range(&h.roots.messages, Query::new(KeyRange::all()).reverse());
        for entry in newest.take((gap + SCAN_SLACK) as usize) {
            let (key, value) = entry.ok()?;
            let (_, seq) = keys::parse_message(&key)?;
            if seq <= since {
                continue;
            }
            let m = self.store().body(&id_of(&value)?).ok()??;
            if m.message().author != h.author || m.message().seq != seq {
                return None;
            }
            accounted.insert(seq);
            if let Content::Delete { target } = &m.message().content {
                let t = self.store().body(target).ok()??;
                if t.message().seq > since {
                    accounted.insert(t.message().seq);
                }
            }
            out.push(m);
            if accounted.len() as u64 == gap {
                out.sort_by_key(|m| m.message().seq);
                return Some(out);
            }
        }
        None
    }

    /// The `mentions` nodes of `head` new since `since` on `ask`'s range: the tree at `since`
    /// is `head`'s with the gap's entries taken out and the posts it deleted put back.
    fn mentions_since(
        &self,
        head: &SignedHead,
        since: u64,
        gap: &[SignedMessage],
        ask: &CatchUpAsk,
    ) -> Option<Vec<Vec<u8>>> {
        let mut undo: Vec<Edit> = Vec::new();
        for m in gap {
            match &m.message().content {
                Content::Delete { target } => {
                    let t = self.store().body(target).ok()??;
                    if t.message().seq <= since {
                        let made = index_edits(t.message(), t.id(), None).ok()?;
                        undo.extend(made.mentions);
                    }
                }
                _ => {
                    let made = own_entries(m.message(), m.id());
                    undo.extend(made.mentions.into_iter().map(|(k, _)| (k, None)));
                }
            }
        }
        let now = head.head().roots.mentions;
        let then = self.trees().mutate(&now, undo).ok()?;
        let both = Prolly::new(Overlay::new(self.store(), &then.nodes));
        let delta = both
            .delta(&then.root, &now, &keys::mentions_of(&ask.mentions_of))
            .ok()?;
        delta
            .is_complete()
            .then(|| delta.nodes.into_iter().map(|n| n.bytes).collect())
    }
}

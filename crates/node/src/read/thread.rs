//! Threads: a root post and the replies in it from every author held (their `replies` ranges of
//! that thread), and reply counts for thread roots by subtree counts.

use rookery_feed::{Content, MessageId, Post, SignedMessage, keys};
use rookery_prolly::Query;

use super::{Ctx, Item, id_of};
use crate::{Node, NodeError};

/// A thread: its first post and the replies held, oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thread {
    /// The root post, if held (and not deleted, nor by someone blocked).
    pub root: Option<Item>,
    /// Replies, oldest first.
    pub replies: Vec<Item>,
    /// Whether the local identity muted this thread (its notifications are left out).
    pub muted: bool,
}

impl Ctx<'_> {
    /// Fills in `reply_count` for the thread roots among `items`: per author held (not
    /// blocked), a count over their `replies` range of that thread, O(depth) each. An author
    /// whose replies index is not complete here yet counts what can be counted: a number to
    /// show, not a reason to fail the page.
    pub(crate) fn count_replies(&self, items: &mut [Item]) -> Result<(), NodeError> {
        for item in items.iter_mut() {
            let Content::Post(Post { reply: None, .. }) = &item.message.message().content else {
                continue;
            };
            let range = keys::replies_in(&item.message.id());
            let mut n = 0;
            for h in self.heads()? {
                // Unchecked entries count, but never more than the author has messages: a
                // hostile index cannot inflate the number past what its author could post.
                let c = self.node.trees.count(&h.roots.replies, &range).unwrap_or(0);
                n += c.min(h.seq);
            }
            item.reply_count = Some(n);
        }
        Ok(())
    }
}

impl Node {
    /// A thread: its root post and the replies in it from every author held, oldest first.
    pub fn thread(&self, root: &MessageId) -> Result<Thread, NodeError> {
        let ctx = Ctx::new(self)?;
        // A deleted root (no longer in its author's feed) is not shown.
        let root_msg = match self.store.body(root)? {
            Some(m) if ctx.is_current(&m)? && !ctx.is_blocked(&m.message().author) => Some(m),
            _ => None,
        };
        let mut replies: Vec<SignedMessage> = Vec::new();
        for h in ctx.heads()? {
            for entry in self
                .trees
                .range(&h.roots.replies, Query::new(keys::replies_in(root)))
            {
                let (_, v) = entry?;
                let id = id_of(&v)?;
                let body = ctx.body(&id)?;
                // Only this author's own replies in this thread, each once.
                let in_thread = matches!(&body.message().content,
                    Content::Post(Post { reply: Some(r), .. }) if r.root == *root);
                let seen = replies.iter().any(|r| r.id() == id);
                if body.message().author == h.author && in_thread && !seen {
                    replies.push(body);
                }
            }
        }
        replies.sort_by_key(|m| {
            let m = m.message();
            (m.timestamp_ms, m.seq, *m.author.as_bytes())
        });
        let replies = replies
            .into_iter()
            .map(|m| ctx.item(m))
            .collect::<Result<Vec<_>, _>>()?;
        let root_id = root;
        let root = match root_msg {
            Some(m) => Some(Item {
                reply_count: Some(replies.len() as u64),
                ..ctx.item(m)?
            }),
            None => None,
        };
        Ok(Thread {
            muted: ctx.is_muted_thread(root_id),
            root,
            replies,
        })
    }
}

//! People: a profile (latest About, follows, followers among the feeds held), the people list
//! (for autocomplete and the Follow view), unread counts per followed author (subtree counts),
//! and the name index that resolves `@name` when posting.

use std::collections::{HashMap, HashSet};
use std::ops::Bound;

use rookery_feed::{About, Index, MessageId, PublicKey, keys};
use rookery_prolly::{KeyRange, Query};
use rookery_store::Muted;

use super::{Ctx, Item, about_of, follows_of};
use crate::{Node, NodeError};

/// A profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// The key whose profile this is.
    pub key: PublicKey,
    /// Their latest About, if held.
    pub about: Option<About>,
    /// The keys they follow.
    pub follows: Vec<PublicKey>,
    /// Authors held here (not blocked) who follow them.
    pub followers: u64,
    /// Whether the local identity follows them.
    pub followed_by_me: bool,
    /// Whether the local identity blocked them.
    pub blocked_by_me: bool,
    /// Whether the local identity muted them (local and private).
    pub muted_by_me: bool,
    /// Messages they published (their head's seq), if the head is held.
    pub seq: Option<u64>,
}

/// Someone known here: a feed held or an author followed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    /// Their key.
    pub key: PublicKey,
    /// Their latest About, if held.
    pub about: Option<About>,
    /// Whether the local identity follows them.
    pub followed: bool,
    /// Their latest seq held.
    pub seq: Option<u64>,
    /// The time of their latest message held, ms since the Unix epoch.
    pub updated_ms: Option<u64>,
}

impl Person {
    /// Their name as lists sort by (lower case), if they have one.
    fn sort_name(&self) -> Option<String> {
        self.about
            .as_ref()
            .map(|a| a.name.to_lowercase())
            .filter(|n| !n.is_empty())
    }
}

/// What the local identity muted (see [`Node::mute`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mutes {
    /// The people, by name then key.
    pub people: Vec<Person>,
    /// The threads, by root, each with its root post where it is held (and not blocked nor
    /// deleted).
    pub threads: Vec<(MessageId, Option<Item>)>,
}

/// Unread posts of one followed author.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unread {
    /// The followed author's key.
    pub author: PublicKey,
    /// Their name, if known.
    pub name: Option<String>,
    /// Entries added to their feed since last marked seen.
    pub count: u64,
}

impl Ctx<'_> {
    /// `keys` as people (their latest About where held), by name then key.
    fn people_of(
        &self,
        keys: impl IntoIterator<Item = PublicKey>,
    ) -> Result<Vec<Person>, NodeError> {
        let followed = self.followed()?;
        let mut out = Vec::new();
        for key in keys {
            let head = self.head_of(&key)?;
            out.push(Person {
                key,
                about: match &head {
                    Some(h) => about_of(self.node, h)?,
                    None => None,
                },
                followed: followed.contains(&key),
                seq: head.as_ref().map(|h| h.seq),
                updated_ms: head.as_ref().map(|h| h.timestamp_ms),
            });
        }
        out.sort_by(|a, b| {
            let (na, nb) = (a.sort_name(), b.sort_name());
            (na.is_none(), na, a.key.as_bytes()).cmp(&(nb.is_none(), nb, b.key.as_bytes()))
        });
        Ok(out)
    }

    /// The authors held (not blocked, me included) whose `follows` tree holds `author`.
    /// Another author's tree still arriving leaves them out rather than failing the read; my
    /// own tree is always whole.
    fn followers_of(&self, author: &PublicKey) -> Result<HashSet<PublicKey>, NodeError> {
        let mut out = HashSet::new();
        for h in self.heads()?.iter().filter(|h| h.author != *author) {
            let follows = match self.node.trees.get(&h.roots.follows, &keys::follow(author)) {
                Ok(v) => v.is_some(),
                Err(rookery_prolly::Error::MissingNodes(_)) if h.author != self.me => false,
                Err(e) => return Err(e.into()),
            };
            if follows {
                out.insert(h.author);
            }
        }
        Ok(out)
    }
}

impl Node {
    /// An author's profile: latest About, follows, and followers among the authors held.
    pub fn profile(&self, author: &PublicKey) -> Result<Profile, NodeError> {
        let ctx = Ctx::new(self)?;
        let head = ctx.head_of(author)?;
        let (about, follows) = match &head {
            Some(h) => (about_of(self, h)?, follows_of(self, h)?),
            None => (None, vec![]),
        };
        let followers = ctx.followers_of(author)?;
        Ok(Profile {
            key: *author,
            about,
            follows,
            followers: followers.len() as u64,
            followed_by_me: followers.contains(&self.me),
            blocked_by_me: ctx.is_blocked(author),
            muted_by_me: ctx.is_muted(author),
            seq: head.map(|h| h.seq),
        })
    }

    /// Everyone whose feed is held, plus the authors followed, less those blocked: followed
    /// first, then named before unnamed, by name.
    pub fn people(&self) -> Result<Vec<Person>, NodeError> {
        let ctx = Ctx::new(self)?;
        let followed = ctx.followed()?;
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for h in ctx.others()? {
            seen.insert(h.author);
            out.push(Person {
                key: h.author,
                about: about_of(self, h)?,
                followed: followed.contains(&h.author),
                seq: Some(h.seq),
                updated_ms: Some(h.timestamp_ms),
            });
        }
        for k in followed.iter().filter(|k| !seen.contains(*k)) {
            out.push(Person {
                key: *k,
                about: None,
                followed: true,
                seq: None,
                updated_ms: None,
            });
        }
        out.sort_by(|a, b| {
            let (na, nb) = (a.sort_name(), b.sort_name());
            (!a.followed, na.is_none(), na, a.key.as_bytes()).cmp(&(
                !b.followed,
                nb.is_none(),
                nb,
                b.key.as_bytes(),
            ))
        });
        Ok(out)
    }

    /// Who follows `author` among the feeds held (not blocked), as people: me first, then
    /// the people I follow, then by name. One lookup of `author`'s key in each held author's
    /// `follows` tree, O(depth) each, and one About read per follower.
    pub fn followers(&self, author: &PublicKey) -> Result<Vec<Person>, NodeError> {
        let ctx = Ctx::new(self)?;
        let mut out = ctx.people_of(ctx.followers_of(author)?)?;
        // Stable: the name order of `people_of` stays within each group.
        out.sort_by_key(|p| (p.key != self.me, !p.followed));
        Ok(out)
    }

    /// The people the local identity blocked, by name then key: where a block is undone
    /// (they are left out of [`Node::people`] and every other view).
    pub fn blocked_people(&self) -> Result<Vec<Person>, NodeError> {
        let ctx = Ctx::new(self)?;
        ctx.people_of(self.blocked()?)
    }

    /// What the local identity muted, as Settings lists it.
    pub fn mutes(&self) -> Result<Mutes, NodeError> {
        let ctx = Ctx::new(self)?;
        let (mut people, mut threads) = (Vec::new(), Vec::new());
        for m in self.muted()? {
            match m {
                Muted::Person(k) => people.push(k),
                Muted::Thread(root) => threads.push(root),
            }
        }
        let mut roots = Vec::new();
        for root in threads {
            let post = match self.store.body(&root)? {
                Some(m) if ctx.is_current(&m)? && !ctx.is_blocked(&m.message().author) => {
                    Some(ctx.item(m)?)
                }
                _ => None,
            };
            roots.push((root, post));
        }
        Ok(Mutes {
            people: ctx.people_of(people)?,
            threads: roots,
        })
    }

    /// For each author followed and not muted: how many entries their feed gained since it was
    /// last marked seen, from subtree counts (O(depth) per author, nothing read in full). An author whose
    /// path for that count has not arrived yet is left out until it has.
    pub fn unread_counts(&self) -> Result<Vec<Unread>, NodeError> {
        let ctx = Ctx::new(self)?;
        let mut out = Vec::new();
        for author in ctx.followed()?.iter().filter(|a| !ctx.is_muted(a)) {
            let Some(h) = ctx.head_of(author)? else {
                continue;
            };
            let count = match self.unread_of(author, &h.roots.messages) {
                Err(e) if e.is_not_synced() => continue,
                count => count?,
            };
            out.push(Unread {
                author: *author,
                name: ctx.name_of(author)?,
                count,
            });
        }
        Ok(out)
    }

    /// Posts in `messages` newer than the newest of `author`'s last-seen version: a count from
    /// subtree counts along one path.
    fn unread_of(
        &self,
        author: &PublicKey,
        messages: &rookery_prolly::Hash,
    ) -> Result<u64, NodeError> {
        let since = match self.store.last_seen(author, Index::Messages)? {
            None => Bound::Unbounded,
            Some(seen) => self
                .newest_key(&seen)?
                .map_or(Bound::Unbounded, Bound::Excluded),
        };
        let range = KeyRange {
            start: since,
            end: Bound::Unbounded,
        };
        Ok(self.trees.count(messages, &range)?)
    }

    /// The largest key of the tree under `root`, if it has one: one path read.
    pub(crate) fn newest_key(
        &self,
        root: &rookery_prolly::Hash,
    ) -> Result<Option<Vec<u8>>, NodeError> {
        let newest = Query::new(KeyRange::all()).reverse().limit(1);
        match self.trees.range(root, newest).next() {
            None => Ok(None),
            Some(entry) => Ok(Some(entry?.0)),
        }
    }

    /// Lower-case known names → keys, for resolving `@name`. Where several authors share a
    /// name, the one the local identity follows (or itself) wins; if that does not settle it,
    /// the name resolves to nobody: anyone can take any name, and a guess could mention a
    /// stranger.
    pub(crate) fn name_index(&self) -> Result<HashMap<String, PublicKey>, NodeError> {
        let ctx = Ctx::new(self)?;
        let followed = ctx.followed()?;
        let mut by_name: HashMap<String, Vec<PublicKey>> = HashMap::new();
        for h in ctx.heads()? {
            if let Some(name) = ctx.name_of(&h.author)? {
                by_name
                    .entry(name.to_lowercase())
                    .or_default()
                    .push(h.author);
            }
        }
        let mut out = HashMap::new();
        for (name, keys) in by_name {
            let known: Vec<PublicKey> = keys
                .iter()
                .filter(|k| followed.contains(*k) || **k == self.me)
                .copied()
                .collect();
            if let ([only], _) | (_, [only]) = (keys.as_slice(), known.as_slice()) {
                out.insert(name, *only);
            }
        }
        Ok(out)
    }
}

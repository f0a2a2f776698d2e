//! Messages and heads: sign/verify round trips, and each kind of bad input refused with its own
//! error; index edits per content kind.

use proptest::prelude::*;
use rookery_feed::{
    About, Content, FeedError, Head, HeadUpdate, Index, Message, MessageId, Post, PublicKey, Roots,
    SecretKey, SignedHead, SignedMessage, index_edits, keys, limits,
};
use rookery_prolly::{Hash, KeyRange};

fn key(n: u8) -> SecretKey {
    SecretKey::from_bytes(&[n; 32])
}

fn post(author: &SecretKey, seq: u64, text: &str, mentions: Vec<PublicKey>) -> Message {
    Message {
        author: author.public(),
        seq,
        timestamp_ms: 1_700_000_000_000 + seq * 1000,
        content: Content::Post(Post {
            text: text.into(),
            mentions,
            reply: None,
        }),
    }
}

fn head(author: &SecretKey, seq: u64, root_byte: u8) -> Head {
    let mut roots = Roots::empty();
    roots.messages = Hash([root_byte; 32]);
    Head {
        author: author.public(),
        seq,
        timestamp_ms: seq * 10,
        roots,
        about: None,
    }
}

#[test]
fn message_round_trip() {
    let a = key(1);
    let m = post(&a, 1, "hello **world**", vec![key(2).public()]);
    let s = SignedMessage::sign(m.clone(), &a).unwrap();
    let d = SignedMessage::decode(s.bytes()).unwrap();
    assert_eq!(d.message(), &m);
    assert_eq!(d.id(), s.id());
    assert_eq!(s.id(), MessageId::of(s.bytes()));
    assert_eq!(s.id().to_string(), hex::encode(s.id().0));
}

#[test]
fn each_bad_message_has_its_own_error() {
    let (a, b) = (key(1), key(2));
    // Signed by someone else.
    assert!(matches!(
        SignedMessage::sign(post(&a, 1, "x", vec![]), &b),
        Err(FeedError::WrongAuthor)
    ));
    // A valid signature by b, relabelled as a's: the signature no longer verifies.
    let by_b = SignedMessage::sign(post(&b, 1, "x", vec![]), &b).unwrap();
    let mut forged = by_b.bytes().to_vec();
    forged[..32].copy_from_slice(a.public().as_bytes());
    assert!(matches!(
        SignedMessage::decode(&forged),
        Err(FeedError::BadSignature { .. })
    ));
    // A flipped bit in the signature.
    let mut flipped = by_b.bytes().to_vec();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    assert!(matches!(
        SignedMessage::decode(&flipped),
        Err(FeedError::BadSignature { .. })
    ));
    // Too large, too long, too many or repeated mentions, seq 0.
    assert!(matches!(
        SignedMessage::decode(&vec![0; 9000]),
        Err(FeedError::TooLarge { len: 9000 })
    ));
    // Too many characters, and (in fewer characters) too many bytes: each limit says its unit.
    let long = "x".repeat(limits::POST_TEXT.chars + 1);
    assert!(matches!(
        SignedMessage::sign(post(&a, 1, &long, vec![]), &a),
        Err(FeedError::TooLong {
            what: "post",
            max: 4000,
            unit: limits::Unit::Chars
        })
    ));
    let wide = "語".repeat(limits::POST_TEXT.bytes / 3 + 1);
    let e = SignedMessage::sign(post(&a, 1, &wide, vec![]), &a).unwrap_err();
    assert!(matches!(
        e,
        FeedError::TooLong {
            unit: limits::Unit::Bytes,
            ..
        }
    ));
    assert_eq!(e.to_string(), "the post is over the limit of 6144 bytes");
    let many: Vec<_> = (0..=limits::MAX_MENTIONS as u8)
        .map(|i| key(i + 10).public())
        .collect();
    assert!(matches!(
        SignedMessage::sign(post(&a, 1, "x", many), &a),
        Err(FeedError::TooManyMentions { .. })
    ));
    let twice = vec![b.public(), b.public()];
    assert!(matches!(
        SignedMessage::sign(post(&a, 1, "x", twice), &a),
        Err(FeedError::DuplicateMention)
    ));
    assert!(matches!(
        SignedMessage::sign(post(&a, 0, "x", vec![]), &a),
        Err(FeedError::SeqZero)
    ));
    // Sequence rules.
    assert!(post(&a, 1, "x", vec![]).check_follows(None).is_ok());
    assert!(post(&a, 4, "x", vec![]).check_follows(Some(3)).is_ok());
    assert!(matches!(
        post(&a, 5, "x", vec![]).check_follows(Some(3)),
        Err(FeedError::SeqGap {
            expected: 4,
            got: 5
        })
    ));
    assert!(matches!(
        post(&a, 2, "x", vec![]).check_follows(None),
        Err(FeedError::SeqGap {
            expected: 1,
            got: 2
        })
    ));
    // Bytes after the signature, and bytes cut short.
    let good = SignedMessage::sign(post(&a, 1, "x", vec![]), &a).unwrap();
    let mut longer = good.bytes().to_vec();
    longer.push(0);
    assert!(matches!(
        SignedMessage::decode(&longer),
        Err(FeedError::NonCanonical { .. })
    ));
    let short = &good.bytes()[..good.bytes().len() - 1];
    assert!(matches!(
        SignedMessage::decode(short),
        Err(FeedError::Malformed { .. })
    ));
    // Bad profiles.
    let about = |name: &str, bio: &str| Message {
        author: a.public(),
        seq: 1,
        timestamp_ms: 0,
        content: Content::About(About {
            name: name.into(),
            bio: bio.into(),
            avatar: None,
        }),
    };
    assert!(matches!(
        SignedMessage::sign(about("a\u{7}", ""), &a),
        Err(FeedError::BadName)
    ));
    let e = SignedMessage::sign(about(&"n".repeat(65), ""), &a).unwrap_err();
    assert_eq!(e.to_string(), "the name is over the limit of 64 characters");
    assert!(matches!(
        SignedMessage::sign(about("n", &"b".repeat(2000)), &a),
        Err(FeedError::TooLong { what: "bio", .. })
    ));
    assert!(SignedMessage::sign(about("Ada", "I write"), &a).is_ok());
}

#[test]
fn heads_follow_the_acceptance_rule() {
    let a = key(1);
    let h1 = SignedHead::sign(head(&a, 1, 1), &a).unwrap();
    let h2 = SignedHead::sign(head(&a, 2, 2), &a).unwrap();
    let fork = SignedHead::sign(head(&a, 2, 9), &a).unwrap();
    assert_eq!(SignedHead::decode(h2.bytes()).unwrap(), h2);
    assert_eq!(h1.accept(None).unwrap(), HeadUpdate::New);
    assert_eq!(h2.accept(Some(&h1)).unwrap(), HeadUpdate::Newer);
    assert_eq!(h2.accept(Some(&h2)).unwrap(), HeadUpdate::Same);
    assert!(matches!(
        h1.accept(Some(&h2)),
        Err(FeedError::Rollback { held: 2, got: 1 })
    ));
    assert!(matches!(
        fork.accept(Some(&h2)),
        Err(FeedError::Fork { seq: 2 })
    ));
    let other = SignedHead::sign(head(&key(2), 3, 1), &key(2)).unwrap();
    assert!(matches!(
        other.accept(Some(&h2)),
        Err(FeedError::WrongAuthor)
    ));
    assert!(matches!(
        SignedHead::sign(head(&a, 1, 1), &key(2)),
        Err(FeedError::WrongAuthor)
    ));
    let mut flipped = h2.bytes().to_vec();
    flipped[40] ^= 0x10;
    assert!(SignedHead::decode(&flipped).is_err());
}

#[test]
fn signatures_do_not_cross_kinds() {
    // The same key signs messages and heads under different domains: a message's signature
    // attached to a head's bytes with the same body does not verify.
    let a = key(1);
    let h = SignedHead::sign(head(&a, 1, 1), &a).unwrap();
    let m = SignedMessage::sign(post(&a, 1, "x", vec![]), &a).unwrap();
    let body = &h.bytes()[..h.bytes().len() - 64];
    let msg_sig = &m.bytes()[m.bytes().len() - 64..];
    assert!(SignedHead::decode(&[body, msg_sig].concat()).is_err());
}

#[test]
fn index_edits_per_kind() {
    let (a, b, c) = (key(1), key(2), key(3));
    let root = MessageId([7; 32]);
    let reply = Message {
        author: a.public(),
        seq: 3,
        timestamp_ms: 3000,
        content: Content::Post(Post::reply(
            "hi @c",
            vec![c.public()],
            root,
            root,
            b.public(),
        )),
    };
    let id = MessageId([1; 32]);
    let e = index_edits(&reply, id, None).unwrap();
    assert_eq!(
        e.messages,
        vec![(keys::message(3000, 3), Some(id.0.to_vec()))]
    );
    // The parent's author is mentioned automatically.
    assert_eq!(e.mentions.len(), 2);
    assert!(
        e.mentions
            .iter()
            .any(|(k, _)| KeyRange::prefix(b.public().as_bytes()).contains(k))
    );
    assert_eq!(
        e.replies,
        vec![(keys::reply(&root, 3000, 3), Some(id.0.to_vec()))]
    );

    let follow = Message {
        author: a.public(),
        seq: 4,
        timestamp_ms: 4000,
        content: Content::Follow { target: b.public() },
    };
    let fid = MessageId([4; 32]);
    assert_eq!(
        index_edits(&follow, fid, None).unwrap().follows,
        vec![(keys::follow(&b.public()), Some(fid.0.to_vec()))]
    );
    let unfollow = Message {
        seq: 5,
        content: Content::Unfollow { target: b.public() },
        ..follow.clone()
    };
    assert_eq!(
        index_edits(&unfollow, MessageId([5; 32]), None)
            .unwrap()
            .follows,
        vec![(keys::follow(&b.public()), None)]
    );

    // A delete takes the target out of every index it was in, and must name it correctly.
    let del = Message {
        author: a.public(),
        seq: 6,
        timestamp_ms: 6000,
        content: Content::Delete { target: id },
    };
    let e = index_edits(&del, MessageId([6; 32]), Some((&reply, id))).unwrap();
    assert!(e.messages.contains(&(keys::message(3000, 3), None)));
    assert_eq!(e.mentions.iter().filter(|(_, v)| v.is_none()).count(), 2);
    assert_eq!(e.replies, vec![(keys::reply(&root, 3000, 3), None)]);
    assert!(matches!(
        index_edits(&del, MessageId([6; 32]), None),
        Err(FeedError::BadDelete { .. })
    ));
    let not_mine = Message {
        author: b.public(),
        ..reply.clone()
    };
    assert!(matches!(
        index_edits(&del, MessageId([6; 32]), Some((&not_mine, id))),
        Err(FeedError::BadDelete { .. })
    ));
    assert!(matches!(
        index_edits(&del, MessageId([6; 32]), Some((&reply, MessageId([9; 32])))),
        Err(FeedError::BadDelete { .. })
    ));
    assert_eq!(
        Index::ALL.map(Index::name),
        ["messages", "mentions", "replies", "follows"]
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn any_message_round_trips(seq in 1u64.., ts in any::<u64>(), text in ".{0,200}", n in 0usize..5) {
        let a = key(1);
        let mentions = (0..n).map(|i| key(i as u8 + 20).public()).collect();
        let m = Message { author: a.public(), seq, timestamp_ms: ts, content: Content::Post(Post { text, mentions, reply: None }) };
        let s = SignedMessage::sign(m.clone(), &a).unwrap();
        let d = SignedMessage::decode(s.bytes()).unwrap();
        prop_assert_eq!(d.message(), &m);
    }

    /// A flipped bit anywhere in a signed message is refused (never accepted, never a panic).
    #[test]
    fn flipped_bits_are_refused(pos in any::<usize>(), bit in 0u8..8) {
        let a = key(1);
        let s = SignedMessage::sign(post(&a, 7, "hello there", vec![key(2).public()]), &a).unwrap();
        let mut b = s.bytes().to_vec();
        let i = pos % b.len();
        b[i] ^= 1 << bit;
        prop_assert!(SignedMessage::decode(&b).is_err());
    }

    /// Messages checked in a batch are taken or refused exactly as each would be alone: a frame
    /// of two authors' messages, some with a flipped bit, is refused iff one of them is, with
    /// the error the first refused one gets alone.
    #[test]
    fn a_batch_decodes_as_each_message_alone(n in 0usize..24, flips in prop::collection::vec((any::<usize>(), any::<usize>(), 0u8..8), 0..3)) {
        let (a, b) = (key(1), key(2));
        let mut all: Vec<Vec<u8>> = (0..n as u64)
            .map(|i| {
                let k = if i % 3 == 0 { &b } else { &a };
                SignedMessage::sign(post(k, i + 1, "hello there", vec![]), k).unwrap().bytes().to_vec()
            })
            .collect();
        for (which, pos, bit) in flips {
            if let Some(m) = all.get_mut(which % n.max(1)) {
                let i = pos % m.len();
                m[i] ^= 1 << bit;
            }
        }
        let alone: Result<Vec<SignedMessage>, FeedError> =
            all.iter().map(|m| SignedMessage::decode(m)).collect();
        let together = SignedMessage::decode_many(&all);
        match (alone, together) {
            (Ok(x), Ok(y)) => prop_assert_eq!(x, y),
            (Err(FeedError::BadSignature { .. }), Err(e)) => {
                // A malformed message is reported before any bad signature.
                let malformed = all.iter().find_map(|m| SignedMessage::decode(m).err().filter(|e| !matches!(e, FeedError::BadSignature { .. })));
                prop_assert_eq!(e.to_string(), malformed.unwrap_or(FeedError::BadSignature { what: "message" }).to_string());
            }
            (Err(x), Err(y)) => {
                // Malformed first alone: the batch reports a malformed one too.
                let signature_only = matches!(y, FeedError::BadSignature { .. });
                prop_assert!(!signature_only, "alone: {}, together: {}", x, y);
            }
            (x, y) => prop_assert!(false, "alone {:?}, together {:?}", x.map(|v| v.len()), y.map(|v| v.len())),
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = SignedMessage::decode(&bytes);
        let _ = SignedHead::decode(&bytes);
    }
}

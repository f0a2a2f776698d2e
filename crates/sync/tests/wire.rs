//! The wire format: frames round-trip, limits are enforced before allocation, and damaged or
//! hostile bytes are errors, never panics.

use std::ops::Bound;

use proptest::prelude::*;
use rookery_feed::{Index, MessageId, SecretKey};
use rookery_prolly::Hash;
use rookery_sync::wire::{
    ErrorCode, Hello, MAX_FRAME, MAX_HASHES, MAX_PAGE_LIMIT, PROTOCOL_VERSION, Request, Response,
    WireError, WireRange, encode_frame, handshake, read_frame, write_frame,
};

fn requests() -> Vec<Request> {
    let a = SecretKey::from_bytes(&[1; 32]).public();
    let range = WireRange {
        start: Bound::Included(b"a".to_vec()),
        end: Bound::Excluded(b"b".to_vec()),
    };
    vec![
        Request::Range {
            author: a,
            index: Index::Messages,
            root: Hash([3; 32]),
            range: range.clone(),
            limit: 32,
            reverse: true,
        },
        Request::Diff {
            author: a,
            index: Index::Mentions,
            from: Hash([1; 32]),
            to: Hash([2; 32]),
            range,
            bodies: true,
        },
        Request::Fetch {
            nodes: vec![Hash([9; 32]); 3],
            bodies: vec![MessageId([8; 32])],
            leaf_bodies: true,
        },
        Request::Subscribe {
            authors: vec![(a, 0), (a, 3)],
            page: 32,
        },
    ]
}

fn responses() -> Vec<Response> {
    vec![
        Response::Heads {
            heads: vec![vec![1, 2, 3]],
        },
        Response::Proof {
            nodes: vec![vec![1; 40]],
            bodies: vec![vec![2; 300]],
        },
        Response::Nodes {
            nodes: vec![],
            bodies: vec![vec![7]],
            more: true,
        },
        Response::Head { head: vec![5; 200] },
        Response::Page {
            lowest: Some(vec![3; 16]),
            proofs: vec![(0, Some(vec![2; 16]), vec![vec![1; 40]]), (2, None, vec![])],
            bodies: vec![vec![2; 300]],
            not_held: vec![1],
        },
        Response::Error {
            code: ErrorCode::Busy,
            message: "later".into(),
        },
        Response::Error {
            code: ErrorCode::Version,
            message: "version 4 is not spoken here".into(),
        },
    ]
}

#[tokio::test]
async fn frames_round_trip() {
    let mut buf = Vec::new();
    for r in requests() {
        r.check().unwrap();
        write_frame(&mut buf, &r).await.unwrap();
    }
    for r in responses() {
        write_frame(&mut buf, &r).await.unwrap();
    }
    let mut rd = buf.as_slice();
    for r in requests() {
        assert_eq!(read_frame::<Request>(&mut rd).await.unwrap(), r);
    }
    for r in responses() {
        assert_eq!(read_frame::<Response>(&mut rd).await.unwrap(), r);
    }
    assert!(matches!(
        read_frame::<Request>(&mut rd).await,
        Err(WireError::Closed)
    ));
}

#[tokio::test]
async fn oversized_frames_are_refused_before_reading() {
    // A length prefix of 4 GiB - 1 with nothing behind it: refused on the prefix alone.
    let mut rd: &[u8] = &[0xff, 0xff, 0xff, 0xff];
    assert!(matches!(
        read_frame::<Request>(&mut rd).await,
        Err(WireError::TooLarge { .. })
    ));
    let mut rd: &[u8] = &((MAX_FRAME + 1) as u32).to_be_bytes();
    assert!(matches!(
        read_frame::<Request>(&mut rd).await,
        Err(WireError::TooLarge { .. })
    ));
    let huge = Response::Proof {
        nodes: vec![vec![0; MAX_FRAME]],
        bodies: vec![],
    };
    assert!(matches!(
        encode_frame(&huge),
        Err(WireError::TooLarge { .. })
    ));
}

#[tokio::test]
async fn truncated_and_padded_frames_are_errors() {
    let frame = encode_frame(&requests()[1]).unwrap();
    for cut in [1, 3, 4, 10, frame.len() - 1] {
        let mut rd = &frame[..cut];
        assert!(
            matches!(read_frame::<Request>(&mut rd).await, Err(WireError::Closed)),
            "cut at {cut}"
        );
    }
    // One byte more inside the frame than the value uses.
    let mut padded = frame.clone();
    padded.push(0);
    let len = (padded.len() - 4) as u32;
    padded[..4].copy_from_slice(&len.to_be_bytes());
    assert!(matches!(
        read_frame::<Request>(&mut padded.as_slice()).await,
        Err(WireError::Malformed(_))
    ));
}

#[test]
fn requests_over_the_limits_are_refused() {
    let fetch = |nodes: usize, bodies: usize| Request::Fetch {
        nodes: vec![Hash([0; 32]); nodes],
        bodies: vec![MessageId([0; 32]); bodies],
        leaf_bodies: false,
    };
    assert!(matches!(
        fetch(10_000, 0).check(),
        Err(WireError::OverLimit("hashes"))
    ));
    // Nodes and bodies count together.
    assert!(matches!(
        fetch(MAX_HASHES, 1).check(),
        Err(WireError::OverLimit("hashes"))
    ));
    assert!(fetch(MAX_HASHES / 2, MAX_HASHES / 2).check().is_ok());
    let a = SecretKey::from_bytes(&[1; 32]).public();
    let authors = Request::Subscribe {
        authors: vec![(a, 7); 5000],
        page: 0,
    };
    assert!(matches!(
        authors.check(),
        Err(WireError::OverLimit("authors"))
    ));
    let big_page = Request::Subscribe {
        authors: vec![(a, 0)],
        page: MAX_PAGE_LIMIT + 1,
    };
    assert!(matches!(
        big_page.check(),
        Err(WireError::OverLimit("page"))
    ));
    let big_limit = Request::Range {
        author: a,
        index: Index::Messages,
        root: Hash([0; 32]),
        range: WireRange {
            start: Bound::Unbounded,
            end: Bound::Unbounded,
        },
        limit: 1_000_000,
        reverse: false,
    };
    assert!(matches!(
        big_limit.check(),
        Err(WireError::OverLimit("limit"))
    ));
    let long_key = Request::Diff {
        author: a,
        index: Index::Replies,
        from: Hash([0; 32]),
        to: Hash([1; 32]),
        range: WireRange {
            start: Bound::Included(vec![0; 5000]),
            end: Bound::Unbounded,
        },
        bodies: false,
    };
    assert!(matches!(
        long_key.check(),
        Err(WireError::OverLimit("range key"))
    ));
}

#[tokio::test]
async fn handshake_agrees_on_the_version() {
    let (one, two) = tokio::io::duplex(1024);
    let (mut r1, mut w1) = tokio::io::split(one);
    let (mut r2, mut w2) = tokio::io::split(two);
    let (x, y) = tokio::join!(handshake(&mut r1, &mut w1), handshake(&mut r2, &mut w2));
    x.unwrap();
    y.unwrap();
    // A peer from the future.
    let (one, two) = tokio::io::duplex(1024);
    let (mut r1, mut w1) = tokio::io::split(one);
    let (mut r2, mut w2) = tokio::io::split(two);
    let future = async {
        write_frame(
            &mut w2,
            &Hello {
                version: PROTOCOL_VERSION + 1,
            },
        )
        .await
        .unwrap();
        read_frame::<Hello>(&mut r2).await.unwrap()
    };
    let (ours, _) = tokio::join!(handshake(&mut r1, &mut w1), future);
    assert!(matches!(ours, Err(WireError::Version(v)) if v == PROTOCOL_VERSION + 1));
}

proptest! {
    #[test]
    fn damaged_frames_never_panic(i in 0usize..4, pos in any::<usize>(), bit in 0u8..8) {
        let mut frame = encode_frame(&requests()[i]).unwrap();
        let p = 4 + pos % (frame.len() - 4);
        frame[p] ^= 1 << bit;
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let r = rt.block_on(read_frame::<Request>(&mut frame.as_slice()));
        if let Ok(req) = r {
            let _ = req.check();
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let _ = rt.block_on(read_frame::<Response>(&mut bytes.as_slice()));
        let _ = rt.block_on(read_frame::<Request>(&mut bytes.as_slice()));
    }
}

//! Images (avatars) as iroh-blobs: put in the node's blob store and named by BLAKE3 hash in the
//! profile, served on the router under iroh-blobs' ALPN, and fetched from whichever session
//! holds them — the size checked from the verified header before the body is taken, the
//! bytes BLAKE3-verified as they stream.

use iroh::EndpointAddr;
use rookery_feed::{PublicKey, SignedMessage};
use rookery_prolly::Hash;

use super::{NetError, Network, Shared};

/// The largest avatar blob fetched from a peer or served to one.
pub const MAX_AVATAR_BYTES: usize = 1 << 20;
/// An avatar's longest side once it is made safe (at most about 640 KB as PNG, under
/// [`MAX_AVATAR_BYTES`] whatever the image).
pub const AVATAR_SIDE: u32 = 400;

fn blobs_err(e: impl std::error::Error + Send + Sync + 'static) -> NetError {
    NetError::Blobs(Box::new(e))
}

/// An image held in the blob store, if it is here.
async fn held(shared: &Shared, hash: &Hash) -> Result<Option<Vec<u8>>, NetError> {
    let h = iroh_blobs::Hash::from_bytes(hash.0);
    if !shared.blobs.has(h).await.map_err(blobs_err)? {
        return Ok(None);
    }
    let bytes = shared.blobs.get_bytes(h).await.map_err(blobs_err)?;
    Ok(Some(bytes.to_vec()))
}

/// Fetches an image from `peer`. Anything over [`MAX_AVATAR_BYTES`] is refused and dropped.
async fn fetch_one(shared: &Shared, peer: PublicKey, hash: Hash) -> Result<(), NetError> {
    let h = iroh_blobs::Hash::from_bytes(hash.0);
    if shared.blobs.has(h).await.map_err(blobs_err)? {
        return Ok(());
    }
    let timeout = shared.config.limits.request_timeout;
    let timed_out = || NetError::Dial {
        peer,
        source: Box::new(std::io::Error::from(std::io::ErrorKind::TimedOut)),
    };
    let conn = tokio::time::timeout(
        timeout,
        shared
            .endpoint
            .connect(EndpointAddr::new(peer), iroh_blobs::ALPN),
    )
    .await
    .map_err(|_| timed_out())?
    .map_err(|e| NetError::Dial {
        peer,
        source: Box::new(e),
    })?;
    // The size is in the first bytes of the answer; check it before taking the rest.
    let size = tokio::time::timeout(
        timeout,
        iroh_blobs::get::request::get_verified_size(&conn, &h),
    )
    .await
    .map_err(|_| timed_out())?
    .map_err(blobs_err)?
    .0;
    if size > MAX_AVATAR_BYTES as u64 {
        conn.close(0u32.into(), b"too large");
        return Err(NetError::TooLarge {
            what: "avatar image",
            max: MAX_AVATAR_BYTES,
        });
    }
    tokio::time::timeout(timeout, shared.blobs.remote().fetch(conn.clone(), h))
        .await
        .map_err(|_| timed_out())?
        .map_err(blobs_err)?;
    conn.close(0u32.into(), b"done");
    Ok(())
}

/// An image from the blob store or, if it is not here yet, from `peers` in order, until one
/// has it. A peer that fails (or claims an oversized image) does not stop the search: one
/// hostile session must not make an image unreachable.
pub(crate) async fn fetch_from(
    shared: &Shared,
    hash: &Hash,
    peers: &[PublicKey],
) -> Result<Option<Vec<u8>>, NetError> {
    if let Some(b) = held(shared, hash).await? {
        return Ok(Some(b));
    }
    for peer in peers {
        match fetch_one(shared, *peer, *hash).await {
            Ok(()) => return held(shared, hash).await,
            Err(e) => tracing::debug!(peer = %peer.fmt_short(), "no blob from this peer: {e}"),
        }
    }
    Ok(None)
}

impl Network {
    /// Publishes a profile; the avatar image is made safe ([`crate::images::normalize`]: a
    /// PNG, JPEG, GIF or WebP, decoded and encoded again at most [`AVATAR_SIDE`] pixels a side,
    /// its metadata gone), goes into the blob store, served to peers, and the profile names its
    /// BLAKE3 hash.
    pub async fn set_profile(
        &self,
        name: &str,
        bio: &str,
        avatar: Option<&[u8]>,
    ) -> Result<SignedMessage, NetError> {
        let hash = match avatar {
            Some(bytes) => {
                let bytes = bytes.to_vec();
                let image = tokio::task::spawn_blocking(move || {
                    crate::images::normalize(&bytes, AVATAR_SIDE)
                })
                .await
                .map_err(blobs_err)??;
                let tag = self
                    .shared
                    .blobs
                    .add_slice(&image.bytes)
                    .await
                    .map_err(blobs_err)?;
                Some(*tag.hash.as_bytes())
            }
            None => None,
        };
        Ok(self.node().set_profile(name, bio, hash)?)
    }

    /// An image held in the blob store, if it is here.
    pub async fn blob(&self, hash: &Hash) -> Result<Option<Vec<u8>>, NetError> {
        held(&self.shared, hash).await
    }

    /// An image from the blob store or, if it is not here yet, from the sessions: the peers in
    /// `first` (those with a session), then every other session. `None` if no peer has it now.
    pub async fn fetch_blob_any(
        &self,
        hash: &Hash,
        first: &[PublicKey],
    ) -> Result<Option<Vec<u8>>, NetError> {
        let sessions: Vec<PublicKey> = self.view.borrow().sessions.keys().copied().collect();
        let mut order: Vec<PublicKey> = first
            .iter()
            .filter(|p| sessions.contains(p))
            .copied()
            .collect();
        order.extend(sessions.iter().filter(|p| !first.contains(p)));
        fetch_from(&self.shared, hash, &order).await
    }
}

//! Public keys as the signed formats carry them, each checked once per process.
//!
//! A key is a compressed curve point, and checking that it is one (decompressing it) costs
//! about 15 µs: more than the rest of decoding a head or a message, and verifying a signature
//! did it again. Opening the app decodes a head and a few messages of every person followed,
//! so the check dominated the first page; a full sync paid it twice per message. Keys already
//! checked are kept with their decompressed point (up to [`CAPACITY`], then the set starts
//! again), and a key seen before is a copy of the checked one. A key that is not a point is
//! still refused every time: only keys that passed are kept.
//!
//! The signature rule is ZIP 215's (the Zcash rule for Ed25519, as `ed25519-zebra` implements
//! it): `s` canonical, the cofactored equation `[8][s]B = [8]R + [8][k]A`; and, on top of it,
//! no signature by a key of small order (a "weak" key, for which anyone can sign) is ever
//! valid. What makes it the rule here is that one signature checked alone and the same
//! signature checked in a batch ([`Batch`]) always agree, so a feed taken in a frame at a
//! time is accepted or refused exactly as if each message came alone. Everything
//! `verify_strict` (Rookery's rule before) accepts, this accepts: only signatures made to be
//! odd (small-order parts, non-canonical point encodings) could differ, and no Rookery signer
//! makes them.

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

use ed25519_zebra::{Signature, VerificationKey, VerificationKeyBytes, batch};
use iroh_base::PublicKey;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

/// The most keys kept: about 2.5 MB.
const CAPACITY: usize = 1 << 15;

/// A key checked, with its point for verifying (`None`: a key of small order, whose
/// signatures are never valid).
type Checked = HashMap<[u8; 32], (PublicKey, Option<VerificationKey>)>;

fn checked() -> &'static RwLock<Checked> {
    static KEYS: OnceLock<RwLock<Checked>> = OnceLock::new();
    KEYS.get_or_init(Default::default)
}

/// The key with these bytes and its point, if they are a point on the curve.
fn both(
    bytes: [u8; 32],
) -> Result<(PublicKey, Option<VerificationKey>), iroh_base::KeyParsingError> {
    if let Some(k) = checked()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&bytes)
    {
        return Ok(*k);
    }
    let k = PublicKey::from_bytes(&bytes)?;
    let weak = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
        .expect("a key PublicKey accepts is a point")
        .is_weak();
    // ZIP 215 takes every point `PublicKey` does (and some encodings it does not).
    let point = (!weak)
        .then(|| VerificationKey::try_from(bytes).ok())
        .flatten();
    let mut keys = checked().write().unwrap_or_else(|e| e.into_inner());
    if keys.len() >= CAPACITY {
        keys.clear();
    }
    keys.insert(bytes, (k, point));
    Ok((k, point))
}

/// The key with these bytes, if they are a point on the curve: `PublicKey::from_bytes`, each
/// key checked once per process.
pub fn key(bytes: [u8; 32]) -> Result<PublicKey, iroh_base::KeyParsingError> {
    both(bytes).map(|(k, _)| k)
}

/// Whether `signature` is `key`'s over `message` (the rule above), without decompressing a
/// key seen before.
pub(crate) fn verify(key: &PublicKey, message: &[u8], signature: &[u8; 64]) -> bool {
    let Ok((_, Some(point))) = both(*key.as_bytes()) else {
        return false;
    };
    point
        .verify(&Signature::from_bytes(signature), message)
        .is_ok()
}

/// Signatures checked together: one multiscalar multiplication for all of them, with the
/// terms of each key's signatures merged into one, so a frame of one author's messages costs
/// about a fifth of checking them one by one. Valid exactly when each one is (ZIP 215).
#[derive(Default)]
pub(crate) struct Batch {
    verifier: batch::Verifier,
    /// A signature by a weak key was queued: the batch is not valid.
    weak: bool,
}

impl Batch {
    /// Adds `key`'s `signature` over `message`.
    pub(crate) fn queue(&mut self, key: &PublicKey, message: &[u8], signature: &[u8; 64]) {
        match both(*key.as_bytes()) {
            Ok((_, Some(_))) => self.verifier.queue((
                VerificationKeyBytes::from(*key.as_bytes()),
                Signature::from_bytes(signature),
                message,
            )),
            _ => self.weak = true,
        }
    }

    /// Whether every signature queued is valid.
    pub(crate) fn verify(self) -> bool {
        !self.weak && self.verifier.verify(rand_core_06::OsRng).is_ok()
    }
}

/// Forgets every key checked, as a new process starts: for benchmarks of a cold start.
#[doc(hidden)]
pub fn forget() {
    checked().write().unwrap_or_else(|e| e.into_inner()).clear();
}

/// `deserialize_with` for a key: the same bytes and the same refusals as
/// `PublicKey`'s own `Deserialize` (its human-readable form is left to it).
pub(crate) fn one<'de, D: Deserializer<'de>>(d: D) -> Result<PublicKey, D::Error> {
    if d.is_human_readable() {
        return PublicKey::deserialize(d);
    }
    let bytes = <[u8; 32]>::deserialize(d)?;
    key(bytes).map_err(D::Error::custom)
}

struct Known(PublicKey);

impl<'de> Deserialize<'de> for Known {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        one(d).map(Known)
    }
}

/// `deserialize_with` for a list of keys.
pub(crate) fn many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PublicKey>, D::Error> {
    Ok(Vec::<Known>::deserialize(d)?
        .into_iter()
        .map(|k| k.0)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_decode_as_the_key_type_does_and_bad_points_are_refused_every_time() {
        let k = iroh_base::SecretKey::from_bytes(&[7; 32]).public();
        let bytes = postcard::to_allocvec(&k).unwrap();
        for _ in 0..2 {
            let mut d = postcard::Deserializer::from_bytes(&bytes);
            assert_eq!(one(&mut d).unwrap(), k);
        }
        // Not a point: refused here as by the key type, again after a good key was kept.
        let bad = (0u8..=255)
            .map(|b| [b; 32])
            .find(|b| PublicKey::from_bytes(b).is_err())
            .unwrap();
        for _ in 0..2 {
            let mut d = postcard::Deserializer::from_bytes(&bad);
            assert!(one(&mut d).is_err());
            assert!(postcard::from_bytes::<PublicKey>(&bad).is_err());
        }
    }

    /// ZIP 215 alone would take any signature of a small-order key with `R` the identity and
    /// `s` zero (`[8]` kills every term): a key anyone can sign for. Never valid here, alone
    /// or in a batch; and a batch holding one forged signature is not valid.
    #[test]
    fn weak_keys_never_sign_and_a_batch_is_valid_only_if_each_is() {
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let weak = PublicKey::from_bytes(&identity).unwrap();
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&identity);
        let zebra = VerificationKey::try_from(identity).unwrap();
        assert!(
            zebra
                .verify(&Signature::from_bytes(&sig), b"anything")
                .is_ok()
        );
        assert!(!verify(&weak, b"anything", &sig));
        let mut batch = Batch::default();
        batch.queue(&weak, b"anything", &sig);
        assert!(!batch.verify());

        let secret = iroh_base::SecretKey::from_bytes(&[9; 32]);
        let k = secret.public();
        let sigs: Vec<[u8; 64]> = (0u8..8).map(|i| secret.sign(&[i]).to_bytes()).collect();
        for forged in [None, Some(0), Some(5)] {
            let mut batch = Batch::default();
            for (i, s) in sigs.iter().enumerate() {
                let mut s = *s;
                if forged == Some(i) {
                    s[40] ^= 1;
                }
                batch.queue(&k, &[i as u8], &s);
            }
            assert_eq!(batch.verify(), forged.is_none());
        }
    }

    #[test]
    fn verifies_as_the_key_type_does_with_the_point_kept() {
        let secret = iroh_base::SecretKey::from_bytes(&[9; 32]);
        let k = secret.public();
        let sig = secret.sign(b"hello").to_bytes();
        for _ in 0..2 {
            assert!(verify(&k, b"hello", &sig));
            assert!(!verify(&k, b"hellO", &sig));
            let mut forged = sig;
            forged[3] ^= 1;
            assert!(!verify(&k, b"hello", &forged));
            assert!(
                k.verify(b"hello", &iroh_base::Signature::from_bytes(&forged))
                    .is_err()
            );
        }
    }
}

//! Public keys as the signed formats carry them, each checked once per process.
//!
//! A key is a compressed curve point, and checking that it is one (decompressing it) costs
//! about 15 µs: more than the rest of decoding a head or a message, and verifying a signature
//! did it again. Opening the app decodes a head and a few messages of every person followed,
//! so the check dominated the first page; a full sync paid it twice per message. Keys already
//! checked are kept with their decompressed point (up to [`CAPACITY`], then the set starts
//! again), and a key seen before is a copy of the checked one. A key that is not a point is
//! still refused every time: only keys that passed are kept.

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

use ed25519_dalek::VerifyingKey;
use iroh_base::PublicKey;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

/// The most keys kept: about 2.5 MB.
const CAPACITY: usize = 1 << 15;

type Checked = HashMap<[u8; 32], (PublicKey, VerifyingKey)>;

fn checked() -> &'static RwLock<Checked> {
    static KEYS: OnceLock<RwLock<Checked>> = OnceLock::new();
    KEYS.get_or_init(Default::default)
}

/// The key with these bytes and its point, if they are a point on the curve.
fn both(bytes: [u8; 32]) -> Result<(PublicKey, VerifyingKey), iroh_base::KeyParsingError> {
    if let Some(k) = checked()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&bytes)
    {
        return Ok(*k);
    }
    let k = PublicKey::from_bytes(&bytes)?;
    let point = VerifyingKey::from_bytes(&bytes).expect("a key PublicKey accepts is a point");
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

/// Whether `signature` is `key`'s over `message`: `PublicKey::verify` (strict verification),
/// without decompressing a key seen before.
pub(crate) fn verify(key: &PublicKey, message: &[u8], signature: &[u8; 64]) -> bool {
    let Ok((_, point)) = both(*key.as_bytes()) else {
        return false;
    };
    point
        .verify_strict(message, &ed25519_dalek::Signature::from_bytes(signature))
        .is_ok()
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

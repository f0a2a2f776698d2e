//! The identity on disk: the secret key file in the data directory (64 hex digits, mode 0600)
//! and the 24 backup words (BIP-39, the key's 32 bytes as entropy).

use std::path::Path;

use rookery_feed::SecretKey;

use crate::NodeError;
use crate::error::io;

/// The key file in the data directory.
pub const KEY_FILE: &str = "secret.key";

/// Reads the key file in `dir`, or creates it (mode 0600) with a new key — but only in a
/// directory with no database yet: a database without its key is an identity whose key was
/// lost or moved, and a new key would orphan its feed.
pub(crate) fn load_or_create(dir: &Path) -> Result<SecretKey, NodeError> {
    let path = dir.join(KEY_FILE);
    match read_key_file(&path) {
        Err(NodeError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            if dir.join(crate::DB_FILE).exists() {
                return Err(NodeError::KeyMissing {
                    dir: dir.display().to_string(),
                });
            }
            let key = SecretKey::generate();
            write_key_file(&path, &key)?;
            Ok(key)
        }
        r => r,
    }
}

/// Reads a key file written by [`write_key_file`].
pub fn read_key_file(path: &Path) -> Result<SecretKey, NodeError> {
    let text = std::fs::read_to_string(path).map_err(io("reading the key file", path))?;
    parse_secret(text.trim()).ok_or(NodeError::BadKeyFile {
        path: path.display().to_string(),
    })
}

/// A secret key written as 64 hex digits.
pub fn parse_secret(text: &str) -> Option<SecretKey> {
    let bytes: [u8; 32] = hex::decode(text).ok()?.try_into().ok()?;
    Some(SecretKey::from_bytes(&bytes))
}

/// A secret key as 24 BIP-39 words (its 32 bytes as entropy).
pub fn key_words(key: &SecretKey) -> String {
    bip39::Mnemonic::from_entropy(&key.to_bytes())
        .map(|m| m.to_string())
        .unwrap_or_default()
}

/// The key that 24 backup words stand for. Case and spacing do not matter.
pub fn key_from_words(words: &str) -> Result<SecretKey, NodeError> {
    let m = bip39::Mnemonic::parse_normalized(&words.to_lowercase())
        .map_err(|_| NodeError::BadWords)?;
    let entropy: [u8; 32] = m.to_entropy().try_into().map_err(|_| NodeError::BadWords)?;
    Ok(SecretKey::from_bytes(&entropy))
}

/// Writes a secret key as 64 hex digits to a new file readable by its owner only. The key is
/// written to a temporary file of its own beside the target (readable by its owner only),
/// synced, and moved into place without replacing anything, so a crash never leaves a
/// half-written key file, an existing file is never replaced, and no other file is touched.
pub fn write_key_file(path: &Path, key: &SecretKey) -> Result<(), NodeError> {
    use std::io::Write;
    if path.exists() {
        return Err(io("creating the key file", path)(
            std::io::ErrorKind::AlreadyExists.into(),
        ));
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".rookery-key-")
        .tempfile_in(parent)
        .map_err(io("creating the key file", path))?;
    writeln!(tmp, "{}", hex::encode(key.to_bytes())).map_err(io("writing the key file", path))?;
    tmp.as_file()
        .sync_all()
        .map_err(io("syncing the key file", path))?;
    tmp.persist_noclobber(path)
        .map_err(|e| io("moving the key file into place", path)(e.error))?;
    if let Some(parent) = path.parent()
        && let Ok(d) = std::fs::File::open(parent)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_in_any_case() {
        let k = SecretKey::from_bytes(&[7; 32]);
        let words = key_words(&k);
        assert_eq!(words.split_whitespace().count(), 24);
        assert_eq!(key_from_words(&words).unwrap().to_bytes(), k.to_bytes());
        let shouted = format!("  {}  ", words.to_uppercase());
        assert_eq!(key_from_words(&shouted).unwrap().to_bytes(), k.to_bytes());
        assert!(matches!(
            key_from_words("not words"),
            Err(NodeError::BadWords)
        ));
    }

    #[test]
    fn secrets_are_64_hex_digits() {
        let k = SecretKey::from_bytes(&[9; 32]);
        assert_eq!(
            parse_secret(&hex::encode(k.to_bytes())).unwrap().to_bytes(),
            k.to_bytes()
        );
        assert!(parse_secret("zz").is_none());
        assert!(parse_secret(&"0".repeat(63)).is_none());
    }
}

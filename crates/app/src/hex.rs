//! The text forms of ids — what people see, copy and paste — defined once: keys, message ids,
//! blob hashes and page cursors as lower-case hex (upper case is read too), and the addresses
//! one follows by (a key or a ticket). Nothing below this crate formats an id for people.

use rookery_feed::{MessageId, PublicKey};
use rookery_node::{Cursor, Ticket};

use crate::AppError;

fn bytes32(text: &str) -> Option<[u8; 32]> {
    hex::decode(text.trim()).ok()?.try_into().ok()
}

/// A key: exactly 64 hex digits. Anything else, including iroh's base32 form, is refused, so
/// one key has one spelling in what Rookery shows.
pub fn key(text: &str) -> Result<PublicKey, AppError> {
    bytes32(text)
        .and_then(|b| PublicKey::from_bytes(&b).ok())
        .ok_or_else(|| AppError::bad_request("that is not a key (64 hex digits)"))
}

/// The text form of a key.
pub fn format_key(key: &PublicKey) -> String {
    hex::encode(key.as_bytes())
}

/// A message id: 64 hex digits.
pub fn message_id(text: &str) -> Result<MessageId, AppError> {
    bytes32(text)
        .map(MessageId)
        .ok_or_else(|| AppError::bad_request("that is not a message id (64 hex digits)"))
}

/// The text form of a message id.
pub fn format_id(id: &MessageId) -> String {
    hex::encode(id.0)
}

/// A blob (image) hash: 64 hex digits.
pub fn blob_hash(text: &str) -> Result<[u8; 32], AppError> {
    bytes32(text).ok_or_else(|| AppError::bad_request("that is not a blob hash (64 hex digits)"))
}

/// The text form of a blob hash.
pub fn format_hash(hash: &[u8; 32]) -> String {
    hex::encode(hash)
}

/// A page cursor, as [`format_cursor`] wrote it.
pub fn cursor(text: &str) -> Result<Cursor, AppError> {
    let bytes = hex::decode(text.trim()).map_err(|_| AppError::bad_cursor())?;
    Cursor::from_bytes(&bytes).map_err(|_| AppError::bad_cursor())
}

/// The text form of a page cursor.
pub fn format_cursor(c: &Cursor) -> String {
    hex::encode(c.to_bytes())
}

/// What one follows someone by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    /// Their key alone (reached through discovery, or whoever holds their feed).
    Key(PublicKey),
    /// Their ticket: the key and how to reach them.
    Ticket(Ticket),
}

impl Address {
    /// The key the address names.
    pub fn key(&self) -> PublicKey {
        match self {
            Address::Key(k) => *k,
            Address::Ticket(t) => t.0.id,
        }
    }
}

/// A key or a ticket.
pub fn address(text: &str) -> Result<Address, AppError> {
    let text = text.trim();
    if let Ok(k) = key(text) {
        return Ok(Address::Key(k));
    }
    text.parse::<Ticket>().map(Address::Ticket).map_err(|_| {
        AppError::new(
            crate::ErrorCode::BadAddress,
            format!(
                "not a key or a ticket: {}",
                text.chars().take(80).collect::<String>()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rookery_feed::SecretKey;

    #[test]
    fn keys_have_one_text_form() {
        let k = SecretKey::from_bytes(&[3; 32]).public();
        let text = format_key(&k);
        assert_eq!(text.len(), 64);
        assert_eq!(text, text.to_lowercase());
        assert_eq!(key(&text).unwrap(), k);
        assert_eq!(key(&text.to_uppercase()).unwrap(), k);
        assert!(key("not a key").is_err());
        assert!(key(&k.to_z32()).is_err());
        assert!(key(&format!("+{}", &text[1..])).is_err());
        assert_eq!(address(&text).unwrap(), Address::Key(k));
        let e = address("endpointnotaticket").unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::BadAddress);
    }

    #[test]
    fn ids_and_cursors_round_trip() {
        let id = MessageId([0xab; 32]);
        assert_eq!(message_id(&format_id(&id)).unwrap(), id);
        assert!(message_id("zz").is_err());
        let c = Cursor::from_bytes(&[7; 48]).unwrap();
        assert_eq!(cursor(&format_cursor(&c)).unwrap(), c);
        assert_eq!(
            cursor("bogus").unwrap_err().code,
            crate::ErrorCode::BadCursor
        );
    }
}

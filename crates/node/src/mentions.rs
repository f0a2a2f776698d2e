//! Finding the keys a post's text mentions: `@` followed by a key (64 hex digits) or by the
//! name of a known author.

use std::collections::HashMap;

use rookery_feed::PublicKey;

/// A key written in post text as `@` and its 64 hex digits (of either case).
fn key_in_text(token: &str) -> Option<PublicKey> {
    let bytes: [u8; 32] = hex::decode(token).ok()?.try_into().ok()?;
    PublicKey::from_bytes(&bytes).ok()
}

/// The keys `text` mentions, in order of first appearance, each once. `names` maps lower-case
/// names of known authors to their keys; an `@word` that is neither a key nor a known name is
/// left as plain text.
pub(crate) fn resolve(text: &str, names: &HashMap<String, PublicKey>) -> Vec<PublicKey> {
    let mut out: Vec<PublicKey> = Vec::new();
    for word in text.split(|c: char| c.is_whitespace()) {
        let Some(rest) = word.strip_prefix('@') else {
            continue;
        };
        let token = rest.trim_end_matches(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'));
        if token.is_empty() {
            continue;
        }
        let key = key_in_text(token).or_else(|| names.get(&token.to_lowercase()).copied());
        if let Some(k) = key
            && !out.contains(&k)
        {
            out.push(k);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rookery_feed::SecretKey;

    #[test]
    fn finds_keys_and_known_names() {
        let (a, b) = (
            SecretKey::from_bytes(&[1; 32]).public(),
            SecretKey::from_bytes(&[2; 32]).public(),
        );
        let names = HashMap::from([("ada".to_string(), a)]);
        let text = format!(
            "hi @Ada, and @{}! also @nobody and email@x.org and @ada again",
            hex::encode(b.as_bytes()).to_uppercase()
        );
        assert_eq!(resolve(&text, &names), vec![a, b]);
        assert!(resolve("no mentions @ here", &names).is_empty());
    }
}

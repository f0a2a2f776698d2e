//! The limits on what a message may hold, defined once: the feed rules check them on every
//! message signed or decoded, and the node's composing rules and the UI read them from here.

use crate::FeedError;

/// The most bytes a signed message may have.
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024;
/// The most keys a post may mention.
pub const MAX_MENTIONS: usize = 32;

/// A limit on a piece of text: at most `chars` characters (what a person counts and a counter
/// shows) and at most `bytes` bytes of UTF-8 (what the format must bound). Text passes when it
/// is within both; the error names the one it broke, in its own unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextLimit {
    /// What the text is, as an error names it ("post", "name", "bio").
    pub what: &'static str,
    /// The most characters (Unicode scalar values).
    pub chars: usize,
    /// The most bytes of UTF-8.
    pub bytes: usize,
}

/// A post's text.
pub const POST_TEXT: TextLimit = TextLimit {
    what: "post",
    chars: 4000,
    bytes: 6 * 1024,
};
/// A profile's display name.
pub const NAME: TextLimit = TextLimit {
    what: "name",
    chars: 64,
    bytes: 256,
};
/// A profile's bio.
pub const BIO: TextLimit = TextLimit {
    what: "bio",
    chars: 500,
    bytes: 1024,
};

/// The unit a [`TextLimit`] was broken in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Characters (Unicode scalar values).
    Chars,
    /// Bytes of UTF-8.
    Bytes,
}

impl std::fmt::Display for Unit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unit::Chars => "characters",
            Unit::Bytes => "bytes",
        })
    }
}

impl TextLimit {
    /// Checks `text` against both bounds. Characters are counted first: a person who typed too
    /// much is told in the unit they can see.
    pub fn check(&self, text: &str) -> Result<(), FeedError> {
        let over = |max, unit| FeedError::TooLong {
            what: self.what,
            max,
            unit,
        };
        if text.chars().count() > self.chars {
            return Err(over(self.chars, Unit::Chars));
        }
        if text.len() > self.bytes {
            return Err(over(self.bytes, Unit::Bytes));
        }
        Ok(())
    }
}

//! [`Anchor`]: a position that stays between the same two characters as others edit.

use serde::{Deserialize, Serialize};

use crate::OpId;

/// Which neighbour an anchor sticks to when text is inserted exactly at it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum Bias {
    /// Stay after the character on the left: text inserted here ends up after the anchor
    /// (a cursor: typing at it pushes nothing, others' text lands after it).
    Left,
    /// Stay before the character on the right: text inserted here ends up before the anchor.
    Right,
}

/// A stable position in a document, valid on every replica (it names characters by [`OpId`]).
/// Create with [`Doc::anchor`](crate::Doc::anchor), turn back into a position with
/// [`Doc::resolve`](crate::Doc::resolve). If the character it sticks to is deleted, the anchor
/// stays where that character was.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Anchor {
    /// The character the anchor sticks to; `None` is the document start (`Bias::Left`) or end
    /// (`Bias::Right`).
    pub id: Option<OpId>,
    /// Which side of the anchor `id` is on.
    pub bias: Bias,
}

impl Anchor {
    /// The very start of the document.
    pub const START: Anchor = Anchor {
        id: None,
        bias: Bias::Left,
    };
    /// The very end of the document.
    pub const END: Anchor = Anchor {
        id: None,
        bias: Bias::Right,
    };
}

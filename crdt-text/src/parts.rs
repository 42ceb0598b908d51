//! The containers inside ops and apply results — [`Text`], [`Targets`] and [`Patches`] — as
//! crate types: short ones live inline (a keystroke's op and its patch allocate nothing), and
//! callers build and read them as plain strings and slices, without knowing the crates behind.

use std::fmt;
use std::ops::Deref;

use compact_str::CompactString;
use smallvec::SmallVec;

use crate::{DeleteSpan, Patch};

/// The text of an insert: stored inline up to 24 bytes. Reads as a `str`.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Text(CompactString);

impl Text {
    /// The text as a string slice.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.0.as_str()
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text(CompactString::from(s))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text(CompactString::from(s))
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Defines a list type over a `SmallVec` that reads as a slice.
macro_rules! inline_list {
    ($(#[$doc:meta])* $name:ident, $item:ty, $inline:literal) => {
        $(#[$doc])*
        #[derive(Clone, Default, PartialEq, Eq)]
        pub struct $name(SmallVec<[$item; $inline]>);

        impl $name {
            /// An empty list.
            pub fn new() -> Self {
                Self(SmallVec::new())
            }

            /// Appends one item.
            pub fn push(&mut self, item: $item) {
                self.0.push(item);
            }
        }

        impl Deref for $name {
            type Target = [$item];
            fn deref(&self) -> &[$item] {
                &self.0
            }
        }

        impl FromIterator<$item> for $name {
            fn from_iter<I: IntoIterator<Item = $item>>(iter: I) -> Self {
                Self(iter.into_iter().collect())
            }
        }

        impl Extend<$item> for $name {
            fn extend<I: IntoIterator<Item = $item>>(&mut self, iter: I) {
                self.0.extend(iter);
            }
        }

        impl From<Vec<$item>> for $name {
            fn from(items: Vec<$item>) -> Self {
                Self(SmallVec::from_vec(items))
            }
        }

        impl From<&[$item]> for $name {
            fn from(items: &[$item]) -> Self {
                Self(SmallVec::from_slice(items))
            }
        }

        impl<const N: usize> From<[$item; N]> for $name {
            fn from(items: [$item; N]) -> Self {
                Self(items.into_iter().collect())
            }
        }

        impl IntoIterator for $name {
            type Item = $item;
            type IntoIter = smallvec::IntoIter<[$item; $inline]>;
            fn into_iter(self) -> Self::IntoIter {
                self.0.into_iter()
            }
        }

        impl<'a> IntoIterator for &'a $name {
            type Item = &'a $item;
            type IntoIter = std::slice::Iter<'a, $item>;
            fn into_iter(self) -> Self::IntoIter {
                self.0.iter()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list().entries(self.0.iter()).finish()
            }
        }
    };
}

inline_list!(
    /// The targets of a delete: one span inline, since most deletes are one run. Reads as a
    /// slice of [`DeleteSpan`]s.
    Targets,
    DeleteSpan,
    1
);

inline_list!(
    /// The visible changes one [`Doc::apply`](crate::Doc::apply) made, in order: usually one,
    /// kept inline. Reads as a slice of [`Patch`]es.
    Patches,
    Patch,
    2
);

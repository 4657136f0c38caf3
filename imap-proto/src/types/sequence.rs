//! Sequence sets (RFC 3501 §9 `sequence-set`, RFC 5182 `$` for SEARCHRES, RFC 9051 §9).

use std::num::NonZeroU32;

use crate::error::ValidationError;

/// One end of a range: a number, or `*` (the largest number in use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeqNo {
    /// A message sequence number or UID.
    Value(NonZeroU32),
    /// `*`.
    Largest,
}

impl SeqNo {
    /// The number, with `*` standing for `largest`.
    #[must_use]
    pub fn resolve(self, largest: u32) -> u32 {
        match self {
            Self::Value(v) => v.get(),
            Self::Largest => largest,
        }
    }
}

/// `seq-number` or `seq-range`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeqRange {
    /// A single number or `*`.
    Single(SeqNo),
    /// `a:b`, in the order sent (RFC 3501: `4:2` is the same as `2:4`).
    Range(SeqNo, SeqNo),
}

impl SeqRange {
    /// The inclusive bounds, low first, with `*` standing for `largest`.
    #[must_use]
    pub fn bounds(self, largest: u32) -> (u32, u32) {
        match self {
            Self::Single(a) => {
                let a = a.resolve(largest);
                (a, a)
            }
            Self::Range(a, b) => {
                let (a, b) = (a.resolve(largest), b.resolve(largest));
                (a.min(b), a.max(b))
            }
        }
    }
}

/// A non-empty set of numbers, or `$` (the saved search result, RFC 5182).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SequenceSet {
    /// `1:3,5,7:*`.
    Set(Vec<SeqRange>),
    /// `$`.
    SavedResult,
}

impl SequenceSet {
    /// A set from ranges.
    ///
    /// # Errors
    /// [`ValidationError::EmptyList`] when `ranges` is empty.
    pub fn new(ranges: Vec<SeqRange>) -> Result<Self, ValidationError> {
        if ranges.is_empty() {
            return Err(ValidationError::EmptyList);
        }
        Ok(Self::Set(ranges))
    }

    /// A set holding one number.
    ///
    /// # Errors
    /// [`ValidationError::Zero`] for 0.
    pub fn single(n: u32) -> Result<Self, ValidationError> {
        let n = NonZeroU32::new(n).ok_or(ValidationError::Zero)?;
        Ok(Self::Set(vec![SeqRange::Single(SeqNo::Value(n))]))
    }

    /// A set `a:b`.
    ///
    /// # Errors
    /// [`ValidationError::Zero`] when either end is 0.
    pub fn range(a: u32, b: u32) -> Result<Self, ValidationError> {
        let a = NonZeroU32::new(a).ok_or(ValidationError::Zero)?;
        let b = NonZeroU32::new(b).ok_or(ValidationError::Zero)?;
        Ok(Self::Set(vec![SeqRange::Range(
            SeqNo::Value(a),
            SeqNo::Value(b),
        )]))
    }

    /// Builds the shortest set (as ranges) covering `numbers`, which need not be sorted;
    /// zeros are ignored. `None` when nothing is left.
    #[must_use]
    pub fn from_numbers(numbers: &[u32]) -> Option<Self> {
        let mut v: Vec<u32> = numbers.iter().copied().filter(|n| *n != 0).collect();
        v.sort_unstable();
        v.dedup();
        let mut ranges = Vec::new();
        let mut i = 0;
        while i < v.len() {
            let start = v[i];
            while i + 1 < v.len() && v[i + 1] == v[i] + 1 {
                i += 1;
            }
            let (a, b) = (NonZeroU32::new(start)?, NonZeroU32::new(v[i])?);
            ranges.push(if a == b {
                SeqRange::Single(SeqNo::Value(a))
            } else {
                SeqRange::Range(SeqNo::Value(a), SeqNo::Value(b))
            });
            i += 1;
        }
        Self::new(ranges).ok()
    }

    /// Whether `n` is in the set, `*` standing for `largest`. Always false for `$`, which
    /// the caller resolves against its saved result.
    #[must_use]
    pub fn contains(&self, n: u32, largest: u32) -> bool {
        match self {
            Self::SavedResult => false,
            Self::Set(r) => r.iter().any(|r| {
                let (a, b) = r.bounds(largest);
                (a..=b).contains(&n)
            }),
        }
    }

    /// The ranges (empty for `$`).
    #[must_use]
    pub fn ranges(&self) -> &[SeqRange] {
        match self {
            Self::Set(r) => r,
            Self::SavedResult => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_with_star_and_reversed_ranges() {
        let s = SequenceSet::Set(vec![
            SeqRange::Range(SeqNo::Value(NonZeroU32::new(4).unwrap()), SeqNo::Largest),
            SeqRange::Range(
                SeqNo::Value(NonZeroU32::new(2).unwrap()),
                SeqNo::Value(NonZeroU32::new(1).unwrap()),
            ),
        ]);
        assert!(s.contains(1, 10) && s.contains(10, 10) && !s.contains(3, 10));
        assert!(SequenceSet::new(vec![]).is_err());
        assert_eq!(SequenceSet::single(0), Err(ValidationError::Zero));
        let f = SequenceSet::from_numbers(&[5, 1, 2, 3, 9]).unwrap();
        assert_eq!(f.ranges().len(), 3);
        assert!(!SequenceSet::SavedResult.contains(1, 1));
    }
}

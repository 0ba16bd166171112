//! The numbers a report publishes for each cell, listed once.
//!
//! [`MEASURES`] is the one list of them: the report's CSV columns, the columns a
//! closed year's frozen cells are stored in, and the `kitlog privacy` listing are all
//! read from it. Adding a measure is a new [`Measure`] variant, its line in
//! [`MEASURES`], how the builder counts it, and its column in `schema.sql`.

use std::ops::{Index, IndexMut};

use crate::contact::NaloxoneReason;

/// One number a report publishes per cell. The discriminant is the measure's place
/// in [`MEASURES`] and in [`Measures`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Measure {
    /// Contacts in the cell.
    Contacts,
    /// Distinct codes.
    Participants,
    /// Codes whose first contact in their fiscal year is in this period.
    NewParticipants,
    /// Contacts without a code.
    AnonymousContacts,
    /// Items handed out.
    Quantity,
    /// Reversals reported.
    Reversals,
    /// Used syringes returned.
    Returned,
    /// People picked up for.
    ForOthers,
    /// Naloxone kits given as a first kit.
    NaloxoneFirst,
    /// Naloxone kits replacing one used.
    NaloxoneUsed,
    /// Naloxone kits replacing one lost.
    NaloxoneLost,
    /// Naloxone kits replacing one stolen.
    NaloxoneStolen,
    /// Naloxone kits replacing one confiscated.
    NaloxoneConfiscated,
    /// Naloxone kits replacing one expired.
    NaloxoneExpired,
    /// Naloxone kits given for another reason.
    NaloxoneOther,
    /// Naloxone kits given with no reason recorded.
    NaloxoneUnrecorded,
}

/// How many measures a cell has.
pub const MEASURE_COUNT: usize = 16;

/// Every measure in column order, with its column name (in reports and in the frozen
/// cells of closed years) and what it means, as `kitlog privacy` explains it.
pub const MEASURES: [(Measure, &str, &str); MEASURE_COUNT] = [
    (Measure::Contacts, "contacts", "contacts in the cell"),
    (
        Measure::Participants,
        "participants",
        "distinct codes in the cell (an estimate)",
    ),
    (
        Measure::NewParticipants,
        "new_participants",
        "codes whose first contact of their fiscal year is in the period",
    ),
    (
        Measure::AnonymousContacts,
        "anonymous_contacts",
        "contacts without a code",
    ),
    (Measure::Quantity, "quantity", "items handed out"),
    (
        Measure::Reversals,
        "reversals",
        "overdose reversals reported",
    ),
    (Measure::Returned, "returned", "used syringes brought back"),
    (Measure::ForOthers, "for_others", "people picked up for"),
    (
        Measure::NaloxoneFirst,
        "naloxone_first",
        "naloxone kits given as a first kit",
    ),
    (
        Measure::NaloxoneUsed,
        "naloxone_used",
        "naloxone kits replacing one used",
    ),
    (
        Measure::NaloxoneLost,
        "naloxone_lost",
        "naloxone kits replacing one lost",
    ),
    (
        Measure::NaloxoneStolen,
        "naloxone_stolen",
        "naloxone kits replacing one stolen",
    ),
    (
        Measure::NaloxoneConfiscated,
        "naloxone_confiscated",
        "naloxone kits replacing one confiscated (by police, say)",
    ),
    (
        Measure::NaloxoneExpired,
        "naloxone_expired",
        "naloxone kits replacing one expired",
    ),
    (
        Measure::NaloxoneOther,
        "naloxone_other",
        "naloxone kits given for another reason",
    ),
    (
        Measure::NaloxoneUnrecorded,
        "naloxone_unrecorded",
        "naloxone kits given with no reason recorded",
    ),
];

impl Measure {
    /// The naloxone-kit measure of a contact's reason (or of no reason recorded).
    #[must_use]
    pub fn naloxone(reason: Option<NaloxoneReason>) -> Measure {
        match reason {
            Some(NaloxoneReason::First) => Measure::NaloxoneFirst,
            Some(NaloxoneReason::Used) => Measure::NaloxoneUsed,
            Some(NaloxoneReason::Lost) => Measure::NaloxoneLost,
            Some(NaloxoneReason::Stolen) => Measure::NaloxoneStolen,
            Some(NaloxoneReason::Confiscated) => Measure::NaloxoneConfiscated,
            Some(NaloxoneReason::Expired) => Measure::NaloxoneExpired,
            Some(NaloxoneReason::Other) => Measure::NaloxoneOther,
            None => Measure::NaloxoneUnrecorded,
        }
    }

    /// The column this measure is written under.
    #[must_use]
    pub fn column(self) -> &'static str {
        MEASURES[self as usize].1
    }
}

/// Every measure's column name, in order.
pub fn measure_columns() -> impl Iterator<Item = &'static str> {
    MEASURES.iter().map(|(_, column, _)| *column)
}

/// The measures of one cell, indexed by [`Measure`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Measures([u64; MEASURE_COUNT]);

impl Measures {
    /// Measures from values in [`MEASURES`] order (as stored).
    #[must_use]
    pub fn from_values(values: [u64; MEASURE_COUNT]) -> Self {
        Measures(values)
    }

    /// The values in [`MEASURES`] order.
    #[must_use]
    pub fn values(&self) -> &[u64; MEASURE_COUNT] {
        &self.0
    }

    /// Naloxone kits by reason, in [`NaloxoneReason::ALL`] order, then unrecorded.
    #[must_use]
    pub fn naloxone(&self) -> &[u64] {
        &self.0[Measure::NaloxoneFirst as usize..]
    }

    /// Adds `other` to these, measure by measure.
    pub fn add(&mut self, other: &Measures) {
        for (total, value) in self.0.iter_mut().zip(other.0) {
            *total += value;
        }
    }
}

impl Index<Measure> for Measures {
    type Output = u64;

    fn index(&self, measure: Measure) -> &u64 {
        &self.0[measure as usize]
    }
}

impl IndexMut<Measure> for Measures {
    fn index_mut(&mut self, measure: Measure) -> &mut u64 {
        &mut self.0[measure as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_in_discriminant_order() {
        for (index, (measure, _, _)) in MEASURES.iter().enumerate() {
            assert_eq!(*measure as usize, index, "{measure:?}");
        }
    }

    /// Naloxone columns are named after the reasons, in their order, then unrecorded.
    #[test]
    fn naloxone_columns_line_up_with_the_reasons() {
        for reason in NaloxoneReason::ALL {
            assert_eq!(
                Measure::naloxone(Some(reason)).column(),
                format!("naloxone_{}", reason.as_str())
            );
        }
        let first = Measure::NaloxoneFirst as usize;
        for (offset, reason) in NaloxoneReason::ALL.into_iter().enumerate() {
            assert_eq!(Measure::naloxone(Some(reason)) as usize, first + offset);
        }
        assert_eq!(Measure::naloxone(None).column(), "naloxone_unrecorded");
        assert_eq!(Measure::NaloxoneUnrecorded as usize, MEASURE_COUNT - 1);
    }
}

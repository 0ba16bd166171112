//! The release ledger's records: decided periods, frozen with their cubes, and the
//! releases printed from them.
//!
//! A period is decided once: its whole cube is counted from the data of that moment
//! (a [`DataVersion`]) and what to hide is chosen. Every later report of that period
//! prints the same numbers, and every period counted later reads the days of decided
//! periods as they were then ([`Visibility`]), so no two releases can ever disagree
//! about a contact. A sheet saved, or a batch voided, after a period was decided is
//! *held back* from every report of it.

use chrono::NaiveDate;

use super::ItemKey;
use crate::fiscal::{Period, PeriodKind};
use crate::measures::Measures;

/// The data a period was counted from: every batch up to `batch_high`, less every void
/// numbered up to `void_high`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataVersion {
    /// The last batch id included.
    pub batch_high: i64,
    /// The last void (by number) applied.
    pub void_high: i64,
}

impl DataVersion {
    /// Whether a contact of batch `batch`, whose batch and own voids (if any) have the
    /// given numbers, counted at this version.
    #[must_use]
    pub fn counts(self, batch: i64, batch_void: Option<i64>, contact_void: Option<i64>) -> bool {
        let voided = |seq: Option<i64>| seq.is_some_and(|seq| seq <= self.void_high);
        batch <= self.batch_high && !voided(batch_void) && !voided(contact_void)
    }
}

/// Which contacts count on which days: on the days of a decided period, those of its
/// version; on any other day, every contact not voided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Visibility {
    /// `(first day, last day, version)`, not overlapping, in day order.
    frozen: Vec<(NaiveDate, NaiveDate, DataVersion)>,
}

impl Visibility {
    /// Every contact not voided, on every day.
    #[must_use]
    pub fn now() -> Self {
        Visibility::default()
    }

    /// Freezes the days of `period` at `version`, unless they are frozen already.
    pub fn freeze(&mut self, period: &Period, version: DataVersion) {
        if self
            .frozen
            .iter()
            .any(|(first, last, _)| *first <= period.end && period.start <= *last)
        {
            return;
        }
        self.frozen.push((period.start, period.end, version));
        self.frozen.sort_by_key(|(first, _, _)| *first);
    }

    /// The lowest void number any frozen day counts up to: a contact voided at or
    /// before it counts on no day (`i64::MAX` when nothing is frozen: every void counts).
    #[must_use]
    pub fn earliest_void(&self) -> i64 {
        self.frozen
            .iter()
            .map(|(_, _, version)| version.void_high)
            .min()
            .unwrap_or(i64::MAX)
    }

    /// The frozen stretches of days overlapping `from..=to`, cut to it.
    pub fn frozen_within(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Iterator<Item = (NaiveDate, NaiveDate, DataVersion)> + '_ {
        self.frozen
            .iter()
            .filter(move |(first, last, _)| *first <= to && from <= *last)
            .map(move |(first, last, version)| ((*first).max(from), (*last).min(to), *version))
    }

    /// The version a contact on `day` is counted at; `None` for now.
    #[must_use]
    pub fn version_on(&self, day: NaiveDate) -> Option<DataVersion> {
        let at = self.frozen.partition_point(|(first, _, _)| *first <= day);
        at.checked_sub(1)
            .map(|i| self.frozen[i])
            .filter(|(_, last, _)| day <= *last)
            .map(|(_, _, version)| version)
    }

    /// Whether a contact counts: see [`DataVersion::counts`]; on a day not frozen,
    /// whether it is voided now.
    #[must_use]
    pub fn counts(
        &self,
        day: NaiveDate,
        batch: i64,
        batch_void: Option<i64>,
        contact_void: Option<i64>,
    ) -> bool {
        match self.version_on(day) {
            Some(version) => version.counts(batch, batch_void, contact_void),
            None => batch_void.is_none() && contact_void.is_none(),
        }
    }
}

/// A period decided for release: counted once, at `version`, at threshold `min_cell`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecidedPeriod {
    /// Kind of period.
    pub kind: PeriodKind,
    /// The period.
    pub period: Period,
    /// The threshold it was decided at.
    pub min_cell: u32,
    /// The data it was counted from.
    pub version: DataVersion,
}

/// One cell of a decided period: its frozen counts, and which of them every release
/// hides (bit `i` = the `i`-th measure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecidedCell {
    /// Site name or `ALL`.
    pub site: String,
    /// Item, category or all.
    pub item: ItemKey,
    /// Hidden measures.
    pub hidden: u16,
    /// The counts.
    pub measures: Measures,
}

/// A release as `kitlog releases` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseSummary {
    /// Release number.
    pub id: i64,
    /// Day it was made.
    pub made_on: String,
    /// Kind of period.
    pub kind: String,
    /// First and last period labels, if it has any.
    pub periods: Option<(String, String)>,
    /// The breakdown (`--by`).
    pub breakdown: String,
    /// Who it went to.
    pub recipient: Option<String>,
    /// Its threshold.
    pub min_cell: u32,
    /// Rows.
    pub rows: i64,
    /// Rows with a hidden number.
    pub hidden_cells: i64,
}

/// A release to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRelease<'a> {
    /// Day made.
    pub made_on: NaiveDate,
    /// Kind of period.
    pub kind: PeriodKind,
    /// First and last period labels.
    pub periods: Option<(&'a str, &'a str)>,
    /// The breakdown.
    pub breakdown: &'a str,
    /// Who it goes to.
    pub recipient: Option<&'a str>,
    /// Threshold.
    pub min_cell: u32,
    /// Rows.
    pub rows: usize,
    /// Rows with a hidden number.
    pub hidden_cells: usize,
    /// The file, byte for byte.
    pub content: &'a [u8],
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn frozen_days_count_contacts_as_they_were() {
        let mut visibility = Visibility::now();
        let october = Period {
            start: day("2026-10-01"),
            end: day("2026-10-31"),
            label: "2026-10".into(),
        };
        visibility.freeze(
            &october,
            DataVersion {
                batch_high: 5,
                void_high: 2,
            },
        );
        let in_october = day("2026-10-15");
        assert!(visibility.counts(in_october, 5, None, None));
        assert!(
            !visibility.counts(in_october, 6, None, None),
            "a late batch is held back"
        );
        assert!(
            visibility.counts(in_october, 3, Some(3), None),
            "a later void is held back"
        );
        assert!(
            !visibility.counts(in_october, 3, None, Some(2)),
            "an earlier void counts"
        );
        let in_november = day("2026-11-01");
        assert!(visibility.counts(in_november, 6, None, None));
        assert!(!visibility.counts(in_november, 3, Some(3), None));
        // Freezing again does not move a decided period's version.
        visibility.freeze(
            &october,
            DataVersion {
                batch_high: 9,
                void_high: 9,
            },
        );
        assert!(!visibility.counts(in_october, 6, None, None));
    }
}

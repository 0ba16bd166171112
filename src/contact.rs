//! The records kitlog keeps: contacts, the batches they were saved in, and voids.
//!
//! A contact holds a day, a site, an optional participant code (already salted:
//! no type here can hold raw input) and counts. Nothing here is free text; the
//! worker label is a few letters by construction.

use std::fmt;

use chrono::NaiveDate;

use crate::catalogue::Catalogue;
use crate::code::ParticipantCode;
use crate::error::{Error, Result};
use crate::fiscal::FiscalYear;
use crate::text::Count;

/// Largest count of one item to one contact; more is a typo, not a contact.
pub const MAX_ITEM_QUANTITY: u32 = 5_000;
/// Largest number of reversals one participant reports at once.
pub const MAX_REVERSALS: u32 = 100;
/// Largest number of people one participant picks up for.
pub const MAX_FOR_OTHERS: u32 = 1_000;
/// Largest number of used syringes returned at once (a full sharps bin or two).
pub const MAX_RETURNED: u32 = 100_000;

/// Days before this are typos (`0026-11-20`), not records: no program using kitlog
/// has data from before harm-reduction supply programs were common.
#[must_use]
pub fn earliest_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(1990, 1, 1).expect("a real day")
}

/// Why naloxone was handed out: the reason codes of take-home naloxone programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NaloxoneReason {
    /// The participant's first kit.
    First,
    /// Their last kit was used on an overdose.
    Used,
    /// Lost.
    Lost,
    /// Stolen.
    Stolen,
    /// Taken by police; tracked on purpose.
    Confiscated,
    /// Expired.
    Expired,
    /// Any other reason.
    Other,
}

impl NaloxoneReason {
    /// Every reason, in report column order.
    pub const ALL: [NaloxoneReason; 7] = [
        NaloxoneReason::First,
        NaloxoneReason::Used,
        NaloxoneReason::Lost,
        NaloxoneReason::Stolen,
        NaloxoneReason::Confiscated,
        NaloxoneReason::Expired,
        NaloxoneReason::Other,
    ];

    /// The stored and typed name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            NaloxoneReason::First => "first",
            NaloxoneReason::Used => "used",
            NaloxoneReason::Lost => "lost",
            NaloxoneReason::Stolen => "stolen",
            NaloxoneReason::Confiscated => "confiscated",
            NaloxoneReason::Expired => "expired",
            NaloxoneReason::Other => "other",
        }
    }

    /// Reads a reason, ignoring case and surrounding spaces.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim().to_ascii_lowercase();
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// Why a batch or contact was voided: a fixed list, so no free text enters the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoidReason {
    /// Typed or imported wrongly.
    EntryError,
    /// Saved twice.
    Duplicate,
    /// Not real: training or trying the tool out.
    Test,
}

impl VoidReason {
    /// The stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            VoidReason::EntryError => "entry-error",
            VoidReason::Duplicate => "duplicate",
            VoidReason::Test => "test",
        }
    }
}

/// A worker label: 1 to 8 letters or digits, such as initials. Long enough for
/// `JD` or `van2`, too short and too plain to hold a full name with a surname.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerLabel(String);

impl WorkerLabel {
    /// Checks and keeps a label as typed (case preserved: initials are usually capitals).
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        let valid = (1..=8).contains(&text.chars().count())
            && text.chars().all(|c| c.is_ascii_alphanumeric());
        if valid {
            Ok(WorkerLabel(text.to_owned()))
        } else {
            Err(Error::InvalidWorker)
        }
    }

    /// The label.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `text` as one of the coordinator's `listed` labels (by its number in the
    /// list, from 1, or its label in any case), in the listed spelling.
    pub fn choose(text: &str, listed: &[String]) -> Result<Self> {
        let text = text.trim();
        if let Ok(number) = text.parse::<usize>() {
            if let Some(label) = number.checked_sub(1).and_then(|i| listed.get(i)) {
                return Ok(WorkerLabel(label.clone()));
            }
        }
        let label = WorkerLabel::parse(text)?;
        listed
            .iter()
            .find(|listed| listed.eq_ignore_ascii_case(label.as_str()))
            .map(|listed| WorkerLabel(listed.clone()))
            .ok_or(Error::WorkerNotListed)
    }
}

/// One contact: a day, a site, a participant code (already salted) or none, and what
/// was handed out. The one shape a contact has from a sheet row or a shift line to the
/// database and back into a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// The day of the contact.
    pub day: NaiveDate,
    /// The fiscal year whose key made `code`: part of the participant's identity, since
    /// codes of different years never match.
    pub fiscal_year: FiscalYear,
    /// Site row id.
    pub site_id: i64,
    /// `None` for an anonymous contact.
    pub code: Option<ParticipantCode>,
    /// What was handed out and reported.
    pub counts: Counts,
}

/// What a contact records besides its day, site and participant: the part a shift
/// line, a sheet row, a stored contact and a report all share.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// `(item row id, quantity)`, quantities above zero, one line per item.
    pub items: Vec<(i64, u32)>,
    /// Overdoses the participant reports reversing with naloxone since last time.
    pub reversals: u32,
    /// People the participant is picking up for.
    pub for_others: u32,
    /// Used syringes brought back.
    pub returned: u32,
    /// Why naloxone was given, when it was.
    pub naloxone_reason: Option<NaloxoneReason>,
}

impl Counts {
    /// Whether an item or a count is recorded: an anonymous contact needs one.
    #[must_use]
    pub fn records_something(&self) -> bool {
        !self.items.is_empty() || self.reversals + self.for_others + self.returned > 0
    }
}

/// What the saving command supplies about a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBatch {
    /// `import` or `shift`.
    pub source: BatchSource,
    /// The worker label, if given.
    pub worker: Option<WorkerLabel>,
    /// Day of saving (a calendar day, never a time of day).
    pub saved_on: NaiveDate,
    /// The contacts, in sheet order; position 1 is the first.
    pub contacts: Vec<Contact>,
}

/// What the saving command supplies about a batch whose contacts are streamed in
/// (see `Store::save_batch_with`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchHeader {
    /// `import` or `shift`.
    pub source: BatchSource,
    /// The worker label, if given.
    pub worker: Option<WorkerLabel>,
    /// Day of saving (a calendar day, never a time of day).
    pub saved_on: NaiveDate,
}

/// How a batch was entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchSource {
    /// `kitlog import`.
    Import,
    /// `kitlog shift`.
    Shift,
}

impl BatchSource {
    /// The stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            BatchSource::Import => "import",
            BatchSource::Shift => "shift",
        }
    }
}

/// A saved batch as `kitlog batches` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchSummary {
    /// Batch id.
    pub id: i64,
    /// The first and last day of its contacts (the shift's day, for a shift); `None`
    /// for a batch without contacts.
    pub days: Option<(String, String)>,
    /// Day saved.
    pub saved_on: String,
    /// `import` or `shift`.
    pub source: String,
    /// Sites of its contacts, comma-separated.
    pub sites: String,
    /// Worker label, if any.
    pub worker: Option<String>,
    /// Contacts in the batch, voided ones included.
    pub contacts: i64,
    /// Contacts voided one by one.
    pub voided_contacts: i64,
    /// Items handed out, summed over all lines.
    pub items: i64,
    /// The reason, when the whole batch is voided.
    pub voided_reason: Option<String>,
    /// On a worker's laptop: the coordinator has it, and its contacts were erased here.
    pub forwarded: bool,
    /// On a worker's laptop: the coordinator refused it (its year was closed before it
    /// arrived), and its contacts were erased here.
    pub refused: bool,
    /// On the coordinator's laptop: the laptop it came from and its number there,
    /// `van-2 (its batch 3)` (`None`: saved here).
    pub from: Option<String>,
}

/// `reversals 1`, `for others 2`, `returned 25`: a contact's non-zero counts besides
/// its items, in the words every listing of a contact uses.
#[must_use]
pub fn count_words(reversals: i64, for_others: i64, returned: i64) -> Vec<String> {
    [
        ("reversals", reversals),
        ("for others", for_others),
        ("returned", returned),
    ]
    .into_iter()
    .filter(|(_, value)| *value > 0)
    .map(|(label, value)| format!("{label} {value}"))
    .collect()
}

/// One contact of a batch as `kitlog batches N` lists it: never its code, only
/// whether it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchContact {
    /// Its number in the batch, from 1 (what `void --contact` takes).
    pub position: i64,
    /// Its day.
    pub day: String,
    /// Its site.
    pub site: String,
    /// Whether it has a participant code (never the code).
    pub coded: bool,
    /// `injection-kit 2, stem-pipe 3`, in item-name order.
    pub items: String,
    /// Reversals, for-others, returned.
    pub counts: (i64, i64, i64),
    /// The naloxone reason, if any.
    pub naloxone_reason: Option<String>,
    /// The void reason, if this contact alone was voided.
    pub voided_reason: Option<String>,
}

/// Sums of a batch, for the message after saving or a dry run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchTotals {
    /// Contacts.
    pub contacts: u64,
    /// Contacts without a code.
    pub anonymous: u64,
    /// `(item name, quantity)` in catalogue order.
    pub items: Vec<(String, u64)>,
    /// Reversals reported.
    pub reversals: u64,
    /// Secondary distribution.
    pub for_others: u64,
    /// Used syringes returned.
    pub returned: u64,
    /// Earliest and latest day.
    pub days: Option<(NaiveDate, NaiveDate)>,
    /// Site names in first-seen order.
    pub sites: Vec<String>,
}

impl BatchTotals {
    /// Adds up `contacts`, naming items and sites from `catalogue`.
    #[must_use]
    pub fn of(contacts: &[Contact], catalogue: &Catalogue) -> Self {
        let mut tally = BatchTally::new(catalogue);
        for contact in contacts {
            tally.add(contact);
        }
        tally.finish()
    }
}

/// [`BatchTotals`] added up one contact at a time, for contacts that are streamed.
#[derive(Debug)]
pub struct BatchTally<'c> {
    catalogue: &'c Catalogue,
    totals: BatchTotals,
    /// Per catalogue item, in catalogue order.
    quantities: Vec<u64>,
}

impl<'c> BatchTally<'c> {
    /// Nothing added yet.
    #[must_use]
    pub fn new(catalogue: &'c Catalogue) -> Self {
        BatchTally {
            catalogue,
            totals: BatchTotals::default(),
            quantities: vec![0; catalogue.items.len()],
        }
    }

    /// Counts one contact.
    pub fn add(&mut self, contact: &Contact) {
        let totals = &mut self.totals;
        totals.contacts += 1;
        totals.anonymous += u64::from(contact.code.is_none());
        totals.reversals += u64::from(contact.counts.reversals);
        totals.for_others += u64::from(contact.counts.for_others);
        totals.returned += u64::from(contact.counts.returned);
        for (item, quantity) in &contact.counts.items {
            if let Some(index) = self.catalogue.items.iter().position(|i| i.id == *item) {
                self.quantities[index] += u64::from(*quantity);
            }
        }
        if let Some(site) = self
            .catalogue
            .sites
            .iter()
            .find(|s| s.id == contact.site_id)
        {
            if !totals.sites.contains(&site.name) {
                totals.sites.push(site.name.clone());
            }
        }
        totals.days = Some(match totals.days {
            None => (contact.day, contact.day),
            Some((first, last)) => (first.min(contact.day), last.max(contact.day)),
        });
    }

    /// The totals of everything added.
    #[must_use]
    pub fn finish(self) -> BatchTotals {
        let mut totals = self.totals;
        totals.items = self
            .catalogue
            .items
            .iter()
            .zip(self.quantities)
            .filter(|(_, quantity)| *quantity > 0)
            .map(|(item, quantity)| (item.name.clone(), quantity))
            .collect();
        totals
    }
}

impl fmt::Display for BatchTotals {
    /// Two lines for people, e.g. after `kitlog import`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({} anonymous) at {}",
            Count(self.contacts, "contact"),
            self.anonymous,
            self.sites.join(", ")
        )?;
        if let Some((first, last)) = self.days {
            if first == last {
                write!(f, " on {first}")?;
            } else {
                write!(f, " from {first} to {last}")?;
            }
        }
        let mut parts: Vec<String> = self
            .items
            .iter()
            .map(|(name, quantity)| format!("{name} {quantity}"))
            .collect();
        if parts.is_empty() {
            parts.push("no items".to_owned());
        }
        write!(f, "\n  {}", parts.join(", "))?;
        write!(
            f,
            "; reversals {}, for others {}, returned {}",
            self.reversals, self.for_others, self.returned
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_labels_are_short_and_plain() {
        assert_eq!(WorkerLabel::parse(" JD ").unwrap().as_str(), "JD");
        assert!(WorkerLabel::parse("van2").is_ok());
        assert!(WorkerLabel::parse("").is_err());
        assert!(WorkerLabel::parse("Jane Doe").is_err());
        assert!(WorkerLabel::parse("Alexandra").is_err());
    }

    #[test]
    fn naloxone_reasons_parse_loosely() {
        assert_eq!(
            NaloxoneReason::parse(" Confiscated "),
            Some(NaloxoneReason::Confiscated)
        );
        assert_eq!(NaloxoneReason::parse("police"), None);
        for reason in NaloxoneReason::ALL {
            assert_eq!(NaloxoneReason::parse(reason.as_str()), Some(reason));
        }
    }
}

//! The funder's calendar: fiscal years, quarters, months and ISO weeks.
//!
//! Pure date arithmetic, no I/O. A fiscal year is named by the calendar year it
//! starts in; with an April start, 2026-04-01 to 2027-03-31 is `FY2026-27`, and with
//! a January start it is plain `FY2026`. Fiscal years also choose the epoch key of
//! participant codes, so this module decides which days share a code space.

use std::fmt;

use chrono::{Datelike, Days, IsoWeek, Months, NaiveDate};

/// Why a text is not a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayError {
    /// Not shaped like `YYYY-MM-DD`.
    NotADate,
    /// Shaped like one, but the calendar has no such day (`2026-02-30`).
    NoSuchDay,
}

/// Reads a day written `YYYY-MM-DD`, or `YYYY/MM/DD` as some spreadsheets write it:
/// the one form kitlog reads days in, from sheets, prompts, arguments and its own
/// database. Read by hand: chrono's format parser was a large share of a big import
/// and of a big report, which read one day per contact.
pub fn parse_day(text: &str) -> Result<NaiveDate, DayError> {
    let bytes = text.as_bytes();
    let separator = |b: u8| b == b'-' || b == b'/';
    let shaped = bytes.len() == 10
        && separator(bytes[4])
        && bytes[7] == bytes[4]
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shaped {
        return Err(DayError::NotADate);
    }
    let number = |range: std::ops::Range<usize>| {
        bytes[range]
            .iter()
            .fold(0u32, |n, b| n * 10 + u32::from(b - b'0'))
    };
    let year = i32::try_from(number(0..4)).expect("four digits");
    NaiveDate::from_ymd_opt(year, number(5..7), number(8..10)).ok_or(DayError::NoSuchDay)
}

/// Where a program's fiscal year begins: a month, 1 = January … 12 = December.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FiscalCalendar {
    start_month: u32,
}

impl FiscalCalendar {
    /// `None` unless `start_month` is 1 to 12.
    #[must_use]
    pub fn new(start_month: u32) -> Option<Self> {
        (1..=12)
            .contains(&start_month)
            .then_some(FiscalCalendar { start_month })
    }

    /// The month the fiscal year starts in.
    #[must_use]
    pub fn start_month(self) -> u32 {
        self.start_month
    }

    /// The fiscal year `day` falls in.
    #[must_use]
    pub fn year_of(self, day: NaiveDate) -> FiscalYear {
        let start_year = if day.month() >= self.start_month {
            day.year()
        } else {
            day.year() - 1
        };
        FiscalYear {
            start_year,
            start_month: self.start_month,
        }
    }

    /// The fiscal year that starts in `start_year` (as stored with each contact).
    #[must_use]
    pub fn year_starting_in(self, start_year: i32) -> FiscalYear {
        FiscalYear {
            start_year,
            start_month: self.start_month,
        }
    }

    /// The period of `kind` that `day` falls in.
    #[must_use]
    pub fn period_of(self, kind: PeriodKind, day: NaiveDate) -> Period {
        match kind {
            PeriodKind::Week => {
                let week = day.iso_week();
                let start =
                    NaiveDate::from_isoywd_opt(week.year(), week.week(), chrono::Weekday::Mon)
                        .expect("every ISO week has a Monday");
                Period::new(kind, start, start + Days::new(6), week_label(week))
            }
            PeriodKind::Month => {
                let start = first_of_month(day.year(), day.month());
                Period::new(
                    kind,
                    start,
                    last_day(start, 1),
                    format!("{}-{:02}", day.year(), day.month()),
                )
            }
            PeriodKind::Quarter => {
                let year = self.year_of(day);
                let months_in = months_between(year.first_day(), day);
                let quarter = months_in / 3;
                let start = year.first_day() + Months::new(quarter * 3);
                Period::new(
                    kind,
                    start,
                    last_day(start, 3),
                    format!("{year} Q{}", quarter + 1),
                )
            }
            PeriodKind::FiscalYear => {
                let year = self.year_of(day);
                Period::new(kind, year.first_day(), year.last_day(), year.to_string())
            }
        }
    }
}

impl Default for FiscalCalendar {
    /// April, the most common start for the programs kitlog was written for.
    fn default() -> Self {
        FiscalCalendar { start_month: 4 }
    }
}

/// One fiscal year, named by the calendar year it starts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FiscalYear {
    start_year: i32,
    start_month: u32,
}

impl FiscalYear {
    /// The fiscal year starting in April of `start_year` (the default calendar).
    #[must_use]
    pub fn starting_in(start_year: i32) -> Self {
        FiscalYear {
            start_year,
            start_month: FiscalCalendar::default().start_month,
        }
    }

    /// The fiscal year after this one, in the same calendar.
    #[must_use]
    pub fn next(self) -> Self {
        FiscalYear {
            start_year: self.start_year + 1,
            start_month: self.start_month,
        }
    }

    /// The calendar year this fiscal year starts in; stored with each contact.
    #[must_use]
    pub fn start_year(self) -> i32 {
        self.start_year
    }

    /// First day of the fiscal year.
    #[must_use]
    pub fn first_day(self) -> NaiveDate {
        first_of_month(self.start_year, self.start_month)
    }

    /// Last day of the fiscal year.
    #[must_use]
    pub fn last_day(self) -> NaiveDate {
        last_day(self.first_day(), 12)
    }
}

impl fmt::Display for FiscalYear {
    /// `FY2026` for a January start, `FY2026-27` otherwise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start_month == 1 {
            write!(f, "FY{}", self.start_year)
        } else {
            write!(
                f,
                "FY{}-{:02}",
                self.start_year,
                (self.start_year + 1).rem_euclid(100)
            )
        }
    }
}

/// The kinds of reporting period a funder asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeriodKind {
    /// ISO week, Monday to Sunday.
    Week,
    /// Calendar month.
    Month,
    /// Fiscal quarter: three months from the fiscal year's start.
    Quarter,
    /// The whole fiscal year.
    FiscalYear,
}

impl PeriodKind {
    /// Every kind, shortest first.
    pub const ALL: [PeriodKind; 4] = [
        PeriodKind::Week,
        PeriodKind::Month,
        PeriodKind::Quarter,
        PeriodKind::FiscalYear,
    ];

    /// The `--period` word, also the stored key of frozen report cells.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodKind::Week => "week",
            PeriodKind::Month => "month",
            PeriodKind::Quarter => "quarter",
            PeriodKind::FiscalYear => "fiscal-year",
        }
    }
}

/// One concrete reporting period.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    /// First day, inclusive.
    pub start: NaiveDate,
    /// Last day, inclusive.
    pub end: NaiveDate,
    /// What a funder reads: `2026-W47`, `2026-11`, `FY2026-27 Q3`, `FY2026-27`.
    pub label: String,
}

impl Period {
    fn new(_kind: PeriodKind, start: NaiveDate, end: NaiveDate, label: String) -> Self {
        Period { start, end, label }
    }

    /// Whether `day` falls in this period.
    #[must_use]
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.start <= day && day <= self.end
    }
}

fn week_label(week: IsoWeek) -> String {
    format!("{}-W{:02}", week.year(), week.week())
}

fn first_of_month(year: i32, month: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, 1).expect("month is 1 to 12")
}

/// The last day of the span of `months` months starting at `start`.
fn last_day(start: NaiveDate, months: u32) -> NaiveDate {
    start + Months::new(months) - Days::new(1)
}

/// Whole months from `from` (a first of month) to the month of `day`.
fn months_between(from: NaiveDate, day: NaiveDate) -> u32 {
    let months = (day.year() - from.year()) * 12 + day.month() as i32 - from.month() as i32;
    u32::try_from(months).expect("day is not before the start of its fiscal year")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The hand-written reader agrees with chrono on the form it reads, and refuses
    /// the shapes a sheet must not have (one-digit months, other separators).
    #[test]
    fn days_read_by_hand_agree_with_chrono() {
        for text in [
            "2026-11-20",
            "2026/11/20",
            "2024-02-29",
            "2026-02-29",
            "2026-13-01",
            "2026-00-10",
            "0000-01-01",
            "2026-1-20",
            "2026-11-2x",
            "2026.11.20",
            "2026-11/20",
        ] {
            let bytes = text.as_bytes();
            let shaped = bytes.len() == 10
                && bytes[4] == bytes[7]
                && bytes.iter().enumerate().all(|(i, b)| {
                    if i == 4 || i == 7 {
                        *b == b'-' || *b == b'/'
                    } else {
                        b.is_ascii_digit()
                    }
                });
            let theirs =
                shaped.then(|| NaiveDate::parse_from_str(&text.replace('/', "-"), "%Y-%m-%d").ok());
            let ours = match parse_day(text) {
                Ok(day) => Some(Some(day)),
                Err(DayError::NoSuchDay) => Some(None),
                Err(DayError::NotADate) => None,
            };
            assert_eq!(ours, theirs, "{text}");
        }
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn april_start_names_years_across_the_turn() {
        let calendar = FiscalCalendar::default();
        assert_eq!(calendar.year_of(day("2026-03-31")).to_string(), "FY2025-26");
        assert_eq!(calendar.year_of(day("2026-04-01")).to_string(), "FY2026-27");
        assert_eq!(calendar.year_of(day("2099-12-31")).to_string(), "FY2099-00");
    }

    #[test]
    fn january_start_is_the_calendar_year() {
        let calendar = FiscalCalendar::new(1).unwrap();
        let year = calendar.year_of(day("2026-12-31"));
        assert_eq!(year.to_string(), "FY2026");
        assert_eq!(year.first_day(), day("2026-01-01"));
        assert_eq!(year.last_day(), day("2026-12-31"));
    }

    #[test]
    fn quarters_follow_the_fiscal_start() {
        let april = FiscalCalendar::default();
        let q = april.period_of(PeriodKind::Quarter, day("2026-11-20"));
        assert_eq!(q.label, "FY2026-27 Q3");
        assert_eq!((q.start, q.end), (day("2026-10-01"), day("2026-12-31")));
        let q = april.period_of(PeriodKind::Quarter, day("2027-02-28"));
        assert_eq!(q.label, "FY2026-27 Q4");
        assert_eq!((q.start, q.end), (day("2027-01-01"), day("2027-03-31")));

        let october = FiscalCalendar::new(10).unwrap();
        let q = october.period_of(PeriodKind::Quarter, day("2026-11-20"));
        assert_eq!(q.label, "FY2026-27 Q1");
        assert_eq!((q.start, q.end), (day("2026-10-01"), day("2026-12-31")));

        let july = FiscalCalendar::new(7).unwrap();
        let y = july.period_of(PeriodKind::FiscalYear, day("2026-06-30"));
        assert_eq!(y.label, "FY2025-26");
        assert_eq!((y.start, y.end), (day("2025-07-01"), day("2026-06-30")));
    }

    #[test]
    fn weeks_are_iso_weeks() {
        let calendar = FiscalCalendar::default();
        let w = calendar.period_of(PeriodKind::Week, day("2027-01-01"));
        assert_eq!(w.label, "2026-W53");
        assert_eq!((w.start, w.end), (day("2026-12-28"), day("2027-01-03")));
        let m = calendar.period_of(PeriodKind::Month, day("2028-02-10"));
        assert_eq!((m.label.as_str(), m.end), ("2028-02", day("2028-02-29")));
    }

    fn any_day() -> impl Strategy<Value = NaiveDate> {
        (0u64..80_000).prop_map(|n| day("1990-01-01") + Days::new(n))
    }

    proptest! {
        /// Every day lies in exactly one period of each kind: its own period contains it,
        /// and the neighbouring periods (the day before its start, the day after its end)
        /// are different periods that do not.
        #[test]
        fn every_day_is_in_exactly_one_period(d in any_day(), month in 1u32..=12) {
            let calendar = FiscalCalendar::new(month).unwrap();
            for kind in [PeriodKind::Week, PeriodKind::Month, PeriodKind::Quarter, PeriodKind::FiscalYear] {
                let period = calendar.period_of(kind, d);
                prop_assert!(period.contains(d));
                prop_assert_eq!(calendar.period_of(kind, period.start), period.clone());
                prop_assert_eq!(calendar.period_of(kind, period.end), period.clone());
                let before = calendar.period_of(kind, period.start - Days::new(1));
                let after = calendar.period_of(kind, period.end + Days::new(1));
                prop_assert!(!before.contains(d) && before.end + Days::new(1) == period.start);
                prop_assert!(!after.contains(d) && period.end + Days::new(1) == after.start);
                prop_assert_ne!(&before.label, &period.label);
                prop_assert_ne!(&after.label, &period.label);
            }
            let year = calendar.year_of(d);
            prop_assert!(year.first_day() <= d && d <= year.last_day());
        }

        /// Quarters tile their fiscal year: four of them, in order, within it.
        #[test]
        fn quarters_nest_in_their_fiscal_year(d in any_day(), month in 1u32..=12) {
            let calendar = FiscalCalendar::new(month).unwrap();
            let quarter = calendar.period_of(PeriodKind::Quarter, d);
            let year = calendar.period_of(PeriodKind::FiscalYear, d);
            prop_assert!(year.start <= quarter.start && quarter.end <= year.end);
            prop_assert!(quarter.label.starts_with(&year.label));
            let month_period = calendar.period_of(PeriodKind::Month, d);
            prop_assert!(quarter.start <= month_period.start && month_period.end <= quarter.end);
        }
    }
}

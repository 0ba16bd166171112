//! The coordinator's month-end check (`kitlog month`): per site and shift day, what
//! was saved, which draft is waiting, and which days look missing against the days
//! the site usually works.
//!
//! Pure: the store hands in counts per site, day and batch (never a code, nor
//! anything per contact), and this module decides the site's usual weekdays and the
//! days that look missing. Printing is `commands::month`'s business.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{Datelike, Days, NaiveDate, Weekday};

use crate::catalogue::Site;
use crate::error::{Error, Result};
use crate::fiscal::{FiscalCalendar, Period, PeriodKind};

/// How far back the usual days are learnt: this many whole weeks before the month.
/// Two months: long enough that one skipped week does not change a site's days, short
/// enough that a site that changed its days last season is judged by its new ones.
pub const USUAL_WEEKS: u64 = 8;

/// A weekday seen fewer times than this in the window is not usual, however few weeks
/// the site was active: one extra outreach day is not a schedule.
pub const USUAL_AT_LEAST: usize = 2;

/// The weekdays, Monday first, as chrono numbers them from Monday.
const WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// A calendar month, as `kitlog month` takes it (`2026-11`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Month(Period);

impl Month {
    /// The month `day` falls in.
    #[must_use]
    pub fn of(day: NaiveDate) -> Self {
        // Months do not depend on the fiscal year's start: any calendar will do.
        Month(FiscalCalendar::default().period_of(PeriodKind::Month, day))
    }

    /// Reads `YYYY-MM` (surrounding spaces allowed), from 1990 on (see
    /// [`crate::contact::earliest_day`]), or [`Error::MonthUnreadable`].
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        let bytes = text.as_bytes();
        let shaped = bytes.len() == 7
            && bytes[4] == b'-'
            && bytes
                .iter()
                .enumerate()
                .all(|(i, b)| i == 4 || b.is_ascii_digit());
        if !shaped {
            return Err(Error::MonthUnreadable);
        }
        let year: i32 = text[..4].parse().map_err(|_| Error::MonthUnreadable)?;
        let month: u32 = text[5..].parse().map_err(|_| Error::MonthUnreadable)?;
        // Before kitlog's earliest day is a typo (`0026-11`), as it is in a sheet.
        NaiveDate::from_ymd_opt(year, month, 1)
            .filter(|first| *first >= crate::contact::earliest_day())
            .map(Month::of)
            .ok_or(Error::MonthUnreadable)
    }

    /// Its first day.
    #[must_use]
    pub fn first_day(&self) -> NaiveDate {
        self.0.start
    }

    /// Its last day.
    #[must_use]
    pub fn last_day(&self) -> NaiveDate {
        self.0.end
    }

    /// The first day of the window its usual days are learnt from.
    #[must_use]
    pub fn window_start(&self) -> NaiveDate {
        self.first_day() - Days::new(7 * USUAL_WEEKS)
    }

    /// Every day of it, in order.
    pub fn days(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.first_day()
            .iter_days()
            .take_while(|day| *day <= self.last_day())
    }
}

impl fmt::Display for Month {
    /// `2026-11`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.label)
    }
}

/// What one batch saved at one site on one shift day: counts only. A batch spanning
/// several days or sites (an import) gives one of these for each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchDay {
    /// The site.
    pub site: String,
    /// The shift day (the contacts' day, not the day the batch was saved).
    pub day: NaiveDate,
    /// The batch id.
    pub batch: i64,
    /// `import` or `shift`.
    pub source: String,
    /// The batch's worker label, from the coordinator's list, if any.
    pub worker: Option<String>,
    /// The reason, when the whole batch is voided.
    pub voided_reason: Option<String>,
    /// Its contacts there that day not voided one by one.
    pub contacts: i64,
    /// Its contacts there that day voided one by one.
    pub voided_contacts: i64,
}

impl BatchDay {
    /// The contacts that count: none of a voided batch.
    #[must_use]
    pub fn counted(&self) -> i64 {
        if self.voided_reason.is_some() {
            0
        } else {
            self.contacts
        }
    }
}

/// A shift being typed and not yet saved (a draft of `kitlog shift`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftDay {
    /// The site.
    pub site: String,
    /// The shift day.
    pub day: NaiveDate,
    /// The worker label, if one was chosen.
    pub worker: Option<String>,
    /// Lines kept so far.
    pub contacts: i64,
}

/// One day of one site that has something to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayLine {
    /// The shift day.
    pub day: NaiveDate,
    /// What was saved for it, voided batches included, by batch id.
    pub batches: Vec<BatchDay>,
    /// Drafts waiting for it.
    pub drafts: Vec<DraftDay>,
    /// A usual day, up to today, with nothing counted and no draft.
    pub is_missing: bool,
}

/// One site's month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteMonth {
    /// The site's name.
    pub name: String,
    /// Its usual weekdays, Monday first (see [`usual_weekdays`]).
    pub usual: Vec<Weekday>,
    /// When it was retired, if it was: from that day on nothing is missing.
    pub retired_on: Option<NaiveDate>,
    /// Its days with a batch, a draft or a missing shift, in order.
    pub days: Vec<DayLine>,
}

/// The whole check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthCheck {
    /// Sites in use that month, by name.
    pub sites: Vec<SiteMonth>,
    /// Shifts saved: a site's day with contacts that count.
    pub shifts_saved: usize,
    /// Drafts waiting for a day of the month.
    pub drafts_waiting: usize,
    /// Days that look missing.
    pub missing_days: usize,
}

/// The weekdays a site usually works, Monday first.
///
/// The rule, stated in the output and the README: look at the [`USUAL_WEEKS`] whole
/// weeks before `before` (the month's first day). A week in which the site had
/// contacts that count is an *active* week. A weekday is usual when the site had
/// contacts that count on it in at least half of its active weeks, and at least
/// [`USUAL_AT_LEAST`] times. `worked` lists the days with contacts that count; days
/// outside the window, and repeats, are ignored.
///
/// Learnt from before the month only, so that the days being checked cannot decide
/// what they are checked against, and one site has one set of usual days all month,
/// printed in its heading.
#[must_use]
pub fn usual_weekdays(
    worked: impl IntoIterator<Item = NaiveDate>,
    before: NaiveDate,
) -> Vec<Weekday> {
    let start = before - Days::new(7 * USUAL_WEEKS);
    let days: BTreeSet<NaiveDate> = worked
        .into_iter()
        .filter(|day| start <= *day && *day < before)
        .collect();
    // Each seven-day stretch from `start` holds every weekday once, so the days of a
    // weekday worked are the weeks it was worked in.
    let active_weeks = days
        .iter()
        .map(|day| (*day - start).num_days() / 7)
        .collect::<BTreeSet<_>>()
        .len();
    WEEKDAYS
        .into_iter()
        .filter(|weekday| {
            let times = days.iter().filter(|day| day.weekday() == *weekday).count();
            times >= USUAL_AT_LEAST && 2 * times >= active_weeks
        })
        .collect()
}

/// Builds the check of `month` as of `today`.
///
/// `batch_days` covers the month and the window before it ([`Month::window_start`]);
/// `drafts` may hold drafts of any day. A site is listed when it has a day to show, or
/// has usual days and was not retired before the month began. A day is missing when
/// it is one of the site's usual weekdays, not after `today`, before the site's
/// retirement, and has no contact that counts and no draft waiting.
#[must_use]
pub fn check(
    month: &Month,
    today: NaiveDate,
    sites: &[Site],
    batch_days: &[BatchDay],
    drafts: &[DraftDay],
) -> MonthCheck {
    let mut saved: BTreeMap<(&str, NaiveDate), Vec<&BatchDay>> = BTreeMap::new();
    for batch in batch_days {
        saved
            .entry((batch.site.as_str(), batch.day))
            .or_default()
            .push(batch);
    }
    let mut result = MonthCheck {
        sites: Vec::new(),
        shifts_saved: 0,
        drafts_waiting: 0,
        missing_days: 0,
    };
    for site in sites {
        let worked = saved
            .iter()
            .filter(|((name, _), batches)| {
                *name == site.name && batches.iter().any(|b| b.counted() > 0)
            })
            .map(|((_, day), _)| *day);
        let usual = usual_weekdays(worked, month.first_day());
        let in_use = |day: NaiveDate| site.retired_on.is_none_or(|retired| day < retired);
        let mut days = Vec::new();
        for day in month.days() {
            let mut batches: Vec<BatchDay> = saved
                .get(&(site.name.as_str(), day))
                .map(|found| found.iter().map(|b| (*b).clone()).collect())
                .unwrap_or_default();
            batches.sort_by_key(|b| b.batch);
            let waiting: Vec<DraftDay> = drafts
                .iter()
                .filter(|d| d.site == site.name && d.day == day)
                .cloned()
                .collect();
            let counted = batches.iter().any(|b| b.counted() > 0);
            let is_missing = !counted
                && waiting.is_empty()
                && usual.contains(&day.weekday())
                && day <= today
                && in_use(day);
            if batches.is_empty() && waiting.is_empty() && !is_missing {
                continue;
            }
            result.shifts_saved += usize::from(counted);
            result.drafts_waiting += waiting.len();
            result.missing_days += usize::from(is_missing);
            days.push(DayLine {
                day,
                batches,
                drafts: waiting,
                is_missing,
            });
        }
        if days.is_empty() && (usual.is_empty() || !in_use(month.first_day())) {
            continue;
        }
        result.sites.push(SiteMonth {
            name: site.name.clone(),
            usual,
            retired_on: site.retired_on,
            days,
        });
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        crate::fiscal::parse_day(text).unwrap()
    }

    /// November 2026 starts on a Sunday; its window is Sun 2026-09-06 to Sat 2026-10-31.
    fn november() -> Month {
        Month::parse("2026-11").unwrap()
    }

    /// Every `weekday` of the window's weeks `weeks` (0 = the first of the eight).
    fn worked(weekday: Weekday, weeks: impl IntoIterator<Item = u64>) -> Vec<NaiveDate> {
        let start = november().window_start();
        weeks
            .into_iter()
            .map(|week| {
                let offset = u64::from(weekday.days_since(start.weekday()));
                start + Days::new(7 * week + offset)
            })
            .collect()
    }

    #[test]
    fn months_are_read_as_yyyy_mm_and_nothing_else() {
        let month = november();
        assert_eq!(month.to_string(), "2026-11");
        assert_eq!(month.first_day(), day("2026-11-01"));
        assert_eq!(month.last_day(), day("2026-11-30"));
        assert_eq!(month.window_start(), day("2026-09-06"));
        assert_eq!(month.days().count(), 30);
        assert_eq!(Month::parse(" 2024-02 ").unwrap().days().count(), 29);
        assert_eq!(Month::of(day("2026-11-20")), month);
        for bad in [
            "",
            "2026-13",
            "2026-00",
            "2026-1",
            "26-11",
            "2026/11",
            "2026-11-01",
            "november",
            "+202-11",
            "0026-11",
            "1989-12",
            "２０２６-11",
        ] {
            assert!(
                matches!(Month::parse(bad), Err(Error::MonthUnreadable)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_weekday_worked_every_week_is_usual() {
        let mut days = worked(Weekday::Tue, 0..8);
        days.extend(worked(Weekday::Fri, 0..8));
        assert_eq!(
            usual_weekdays(days, november().first_day()),
            [Weekday::Tue, Weekday::Fri]
        );
    }

    #[test]
    fn half_of_the_active_weeks_is_enough_and_less_is_not() {
        let mut days = worked(Weekday::Mon, 0..8);
        days.extend(worked(Weekday::Wed, [0, 2, 4, 6]));
        days.extend(worked(Weekday::Thu, [1, 3, 5]));
        assert_eq!(
            usual_weekdays(days, november().first_day()),
            [Weekday::Mon, Weekday::Wed]
        );
    }

    #[test]
    fn a_site_active_for_a_few_weeks_is_judged_by_those_weeks() {
        // Opened three weeks before the month: Wednesdays every week, one Saturday.
        let mut days = worked(Weekday::Wed, 5..8);
        days.extend(worked(Weekday::Sat, [6]));
        assert_eq!(usual_weekdays(days, november().first_day()), [Weekday::Wed]);
    }

    #[test]
    fn one_day_is_never_a_schedule() {
        assert_eq!(
            usual_weekdays(worked(Weekday::Sat, [7]), november().first_day()),
            []
        );
        assert_eq!(usual_weekdays([], november().first_day()), []);
    }

    #[test]
    fn only_the_eight_weeks_before_the_month_count_each_day_once() {
        let first = november().first_day();
        // The month itself, and the day before the window, are not looked at.
        let mut days = vec![day("2026-11-03"), day("2026-11-10"), day("2026-09-05")];
        days.push(day("2026-08-29"));
        assert_eq!(usual_weekdays(days, first), []);
        // The window's first and last days are; a day given twice is one day.
        let days = [day("2026-09-06"), day("2026-10-25"), day("2026-10-25")];
        assert_eq!(usual_weekdays(days, first), [Weekday::Sun]);
        let days = [day("2026-10-31"), day("2026-10-31"), day("2026-11-07")];
        assert_eq!(usual_weekdays(days, first), []);
    }

    fn site(name: &str, retired_on: Option<&str>) -> Site {
        Site {
            id: 1,
            name: name.to_owned(),
            retired_on: retired_on.map(day),
        }
    }

    fn saved(site: &str, on: NaiveDate, batch: i64, voided: Option<&str>) -> BatchDay {
        BatchDay {
            site: site.to_owned(),
            day: on,
            batch,
            source: "import".to_owned(),
            worker: None,
            voided_reason: voided.map(str::to_owned),
            contacts: 2,
            voided_contacts: 0,
        }
    }

    /// A site worked every Tuesday of the window (batch 1).
    fn tuesdays(site: &str) -> Vec<BatchDay> {
        worked(Weekday::Tue, 0..8)
            .into_iter()
            .map(|on| saved(site, on, 1, None))
            .collect()
    }

    fn lines(check: &MonthCheck) -> Vec<(NaiveDate, bool)> {
        check.sites[0]
            .days
            .iter()
            .map(|line| (line.day, line.is_missing))
            .collect()
    }

    #[test]
    fn usual_days_up_to_today_without_counted_contacts_or_a_draft_look_missing() {
        let mut batch_days = tuesdays("van");
        batch_days.push(saved("van", day("2026-11-03"), 2, None));
        batch_days.push(saved("van", day("2026-11-10"), 3, Some("duplicate")));
        let drafts = [DraftDay {
            site: "van".to_owned(),
            day: day("2026-11-17"),
            worker: None,
            contacts: 1,
        }];
        let checked = check(
            &november(),
            day("2026-11-24"),
            &[site("van", None), site("unused", None)],
            &batch_days,
            &drafts,
        );
        assert_eq!(
            checked.sites.len(),
            1,
            "a site without usual days or records is left out"
        );
        assert_eq!(checked.sites[0].usual, [Weekday::Tue]);
        assert_eq!(
            lines(&checked),
            [
                (day("2026-11-03"), false),
                (day("2026-11-10"), true),
                (day("2026-11-17"), false),
                (day("2026-11-24"), true),
            ]
        );
        assert_eq!(
            (
                checked.shifts_saved,
                checked.drafts_waiting,
                checked.missing_days
            ),
            (1, 1, 2)
        );
    }

    #[test]
    fn nothing_is_missing_after_today_or_from_the_day_a_site_is_retired() {
        let retiring = check(
            &november(),
            day("2026-11-20"),
            &[site("van", Some("2026-11-10"))],
            &tuesdays("van"),
            &[],
        );
        assert_eq!(lines(&retiring), [(day("2026-11-03"), true)]);
        let later = check(
            &november(),
            day("2026-11-02"),
            &[site("van", None)],
            &tuesdays("van"),
            &[],
        );
        assert_eq!(later.sites[0].days, [], "listed, with nothing to show yet");
        let retired = check(
            &november(),
            day("2026-11-30"),
            &[site("van", Some("2026-11-01"))],
            &tuesdays("van"),
            &[],
        );
        assert_eq!(retired.sites, [], "retired before the month began");
    }
}

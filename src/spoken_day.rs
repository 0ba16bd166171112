//! The day of a shift as a tired worker types it at the prompt: `yesterday`,
//! `friday`, `Nov 20`, `20/11`, as well as `2026-11-20`. Pure: `today` is given.
//!
//! Decisions: a weekday or a day without a year is the most recent one, today
//! included (a shift is typed after it happened); two numbers are read as day and
//! month only when one of them is above 12, since `5/6` means May 6 in some offices
//! and June 5 in others; a year may follow (`20/11/2026`).

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};

use crate::fiscal::parse_day;

/// Why an answer is not a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayRefusal {
    /// Not a form kitlog reads.
    Unreadable,
    /// Two numbers that could be day/month or month/day.
    Ambiguous,
    /// After today.
    Future,
}

/// The day `text` names, seen from `today`.
pub fn parse_spoken_day(text: &str, today: NaiveDate) -> Result<NaiveDate, DayRefusal> {
    let text = text.trim().to_lowercase();
    let day = match text.as_str() {
        "" | "today" => Some(today),
        "yesterday" => today.checked_sub_days(Days::new(1)),
        _ => {
            if let Some(weekday) = weekday(&text) {
                let back = (7 + today.weekday().num_days_from_monday()
                    - weekday.num_days_from_monday())
                    % 7;
                today.checked_sub_days(Days::new(u64::from(back)))
            } else if let Ok(day) = parse_day(&text) {
                Some(day)
            } else {
                return parse_day_and_month(&text, today);
            }
        }
    };
    match day {
        Some(day) if day > today => Err(DayRefusal::Future),
        Some(day) => Ok(day),
        None => Err(DayRefusal::Unreadable),
    }
}

fn weekday(text: &str) -> Option<Weekday> {
    const NAMES: [(&str, Weekday); 7] = [
        ("monday", Weekday::Mon),
        ("tuesday", Weekday::Tue),
        ("wednesday", Weekday::Wed),
        ("thursday", Weekday::Thu),
        ("friday", Weekday::Fri),
        ("saturday", Weekday::Sat),
        ("sunday", Weekday::Sun),
    ];
    NAMES
        .iter()
        .find(|(name, _)| text.len() >= 3 && name.starts_with(text))
        .map(|(_, day)| *day)
}

fn month(text: &str) -> Option<u32> {
    const NAMES: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let text = text.trim_end_matches('.');
    NAMES
        .iter()
        .position(|name| text.len() >= 3 && name.starts_with(text))
        .and_then(|index| u32::try_from(index + 1).ok())
}

/// `nov 20`, `20 november`, `20/11`, `11/20`, `20.11.2026`: a month and a day, with
/// an optional year; without one, the most recent such day.
fn parse_day_and_month(text: &str, today: NaiveDate) -> Result<NaiveDate, DayRefusal> {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || matches!(c, '/' | '.' | '-' | ','))
        .filter(|w| !w.is_empty())
        .collect();
    let number = |w: &str| w.parse::<u32>().ok();
    let (month_day, year) = match words.as_slice() {
        [a, b] => ((*a, *b), None),
        [a, b, y] if y.len() == 4 => ((*a, *b), number(y)),
        _ => return Err(DayRefusal::Unreadable),
    };
    let (month_of, day_of) = match month_day {
        (a, b) if month(a).is_some() => (month(a), number(b)),
        (a, b) if month(b).is_some() => (month(b), number(a)),
        (a, b) => match (number(a), number(b)) {
            (Some(a), Some(b)) if a > 12 && b <= 12 => (Some(b), Some(a)),
            (Some(a), Some(b)) if b > 12 && a <= 12 => (Some(a), Some(b)),
            (Some(a), Some(b)) if a == b && a <= 12 => (Some(a), Some(b)),
            (Some(_), Some(_)) => return Err(DayRefusal::Ambiguous),
            _ => return Err(DayRefusal::Unreadable),
        },
    };
    let (Some(month), Some(day)) = (month_of, day_of) else {
        return Err(DayRefusal::Unreadable);
    };
    let candidate = |year: i32| NaiveDate::from_ymd_opt(year, month, day);
    let found = match year {
        Some(year) => candidate(i32::try_from(year).map_err(|_| DayRefusal::Unreadable)?),
        None => candidate(today.year())
            .filter(|day| *day <= today)
            .or_else(|| {
                today
                    .checked_sub_months(Months::new(12))
                    .and_then(|last| candidate(last.year()))
            }),
    };
    match found {
        Some(day) if day > today => Err(DayRefusal::Future),
        Some(day) => Ok(day),
        None => Err(DayRefusal::Unreadable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn the_forms_a_worker_types() {
        // Monday 30 November 2026.
        let today = day("2026-11-30");
        for (typed, expected) in [
            ("", "2026-11-30"),
            ("Today", "2026-11-30"),
            ("yesterday", "2026-11-29"),
            ("monday", "2026-11-30"),
            ("Friday", "2026-11-27"),
            ("fri", "2026-11-27"),
            ("sunday", "2026-11-29"),
            ("tue", "2026-11-24"),
            ("Nov 20", "2026-11-20"),
            ("20 November", "2026-11-20"),
            ("nov. 20", "2026-11-20"),
            ("20/11", "2026-11-20"),
            ("11/20", "2026-11-20"),
            ("20.11.2026", "2026-11-20"),
            ("16.11.2025", "2025-11-16"),
            ("Dec 24", "2025-12-24"),
            ("2026-11-20", "2026-11-20"),
            ("2026/11/20", "2026-11-20"),
            ("3/3", "2026-03-03"),
        ] {
            assert_eq!(parse_spoken_day(typed, today), Ok(day(expected)), "{typed}");
        }
    }

    #[test]
    fn ambiguous_unreadable_and_future_days_are_refused() {
        let today = day("2026-11-30");
        assert_eq!(parse_spoken_day("5/6", today), Err(DayRefusal::Ambiguous));
        for typed in ["someday", "fr", "feb 30", "32/11", "2026-13-01", "nov"] {
            assert_eq!(
                parse_spoken_day(typed, today),
                Err(DayRefusal::Unreadable),
                "{typed}"
            );
        }
        for typed in ["2026-12-01", "1/12/2026", "tomorrow"] {
            assert!(parse_spoken_day(typed, today).is_err(), "{typed}");
        }
        assert_eq!(
            parse_spoken_day("2026-12-01", today),
            Err(DayRefusal::Future)
        );
    }
}

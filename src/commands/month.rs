//! `kitlog month [YYYY-MM]`: the coordinator's month-end check. Per site, one line per
//! shift day with something on it: the batches saved (voided ones marked and not
//! counted), the draft waiting, and `missing?` for a usual day with nothing counted.
//!
//! Counts, batch ids, sources and worker labels only: never a code, nor anything
//! about one contact. Not a release: like `kitlog batches`, it is for the program's
//! own people, and nothing of it goes to the ledger.

use std::io::Write;

use chrono::{Datelike, NaiveDate, Weekday};

use super::{Context, output};
use crate::cli::MonthArgs;
use crate::error::{Error, Result};
use crate::month::{BatchDay, DayLine, DraftDay, Month, MonthCheck, SiteMonth, USUAL_WEEKS, check};
use crate::text::Count;

/// Checks the month given (or this month) and prints it.
///
/// A month that has not begun is refused rather than shown empty: an empty check
/// reads as "nothing is missing". The month is read before the passphrase is asked.
pub(super) fn run(args: &MonthArgs, context: &Context, out: &mut impl Write) -> Result<()> {
    let month = match &args.month {
        Some(text) => Month::parse(text)?,
        None => Month::of(context.today),
    };
    if month.first_day() > context.today {
        return Err(Error::MonthNotBegun {
            month: month.to_string(),
            today: context.today,
        });
    }
    let store = context.unlock()?.store;
    let (sites, batch_days, drafts) = {
        // One moment: a shift saved meanwhile must not leave its draft and its batch
        // both on the list, or neither.
        let _snapshot = store.snapshot()?;
        (
            store.catalogue()?.sites,
            store.batch_days(month.window_start(), month.last_day())?,
            store.drafts_waiting()?,
        )
    };
    let checked = check(&month, context.today, &sites, &batch_days, &drafts);
    render(&month, context.today, &checked, out)
}

/// Prints the check: a heading, a block per site, the rule, and the totals last.
fn render(
    month: &Month,
    today: NaiveDate,
    checked: &MonthCheck,
    out: &mut impl Write,
) -> Result<()> {
    output(writeln!(
        out,
        "shifts of {month} by site and day, as of {today}"
    ))?;
    if checked.sites.is_empty() {
        output(writeln!(
            out,
            "no site has a shift, a draft or a usual day in {month}"
        ))?;
    }
    for site in &checked.sites {
        output(writeln!(out, "{}", heading(site)))?;
        if site.days.is_empty() {
            output(writeln!(out, "  nothing yet"))?;
        }
        for line in &site.days {
            output(writeln!(out, "  {}", day_line(line)))?;
        }
    }
    output(writeln!(
        out,
        "missing? = a usual day up to today with nothing counted and no draft; a site's usual days are the weekdays it had counted contacts on in at least half of the weeks it was active (and at least twice) in the {USUAL_WEEKS} weeks before {month}"
    ))?;
    let missing = Count::of(checked.missing_days, "day");
    output(writeln!(
        out,
        "{month}: {} saved, {} waiting, {missing} {}",
        Count::of(checked.shifts_saved, "shift"),
        Count::of(checked.drafts_waiting, "draft"),
        if missing.0 == 1 {
            "looks missing"
        } else {
            "look missing"
        }
    ))
}

/// `downtown-van (usual days: Tue, Fri)`, `east-drop-in (no usual days; retired on …)`.
fn heading(site: &SiteMonth) -> String {
    let usual = if site.usual.is_empty() {
        "no usual days".to_owned()
    } else {
        let days: Vec<String> = site.usual.iter().map(Weekday::to_string).collect();
        format!("usual days: {}", days.join(", "))
    };
    match site.retired_on {
        Some(retired) => format!("{} ({usual}; retired on {retired})", site.name),
        None => format!("{} ({usual})", site.name),
    }
}

/// `Fri 2026-11-20  batch 3, import by JD: 45 contacts; missing?`.
fn day_line(line: &DayLine) -> String {
    let mut parts: Vec<String> = line.batches.iter().map(saved).collect();
    parts.extend(line.drafts.iter().map(waiting));
    if line.is_missing {
        parts.push("missing?".to_owned());
    }
    format!("{} {}  {}", line.day.weekday(), line.day, parts.join("; "))
}

/// `batch 3, import by JD: 44 contacts, 1 voided`, or `batch 4, shift: voided
/// (duplicate), 2 contacts not counted`.
fn saved(batch: &BatchDay) -> String {
    let by = batch
        .worker
        .as_deref()
        .map(|worker| format!(" by {worker}"))
        .unwrap_or_default();
    let what = format!("batch {}, {}{by}", batch.batch, batch.source);
    if let Some(reason) = &batch.voided_reason {
        let all = batch.contacts + batch.voided_contacts;
        return format!(
            "{what}: voided ({reason}), {} not counted",
            Count::of(all, "contact")
        );
    }
    let voided = match batch.voided_contacts {
        0 => String::new(),
        n => format!(", {n} voided"),
    };
    format!("{what}: {}{voided}", Count::of(batch.contacts, "contact"))
}

/// `draft, shift by MK: 2 contacts so far, not saved`.
fn waiting(draft: &DraftDay) -> String {
    let by = draft
        .worker
        .as_deref()
        .map(|worker| format!(" by {worker}"))
        .unwrap_or_default();
    format!(
        "draft, shift{by}: {} so far, not saved",
        Count::of(draft.contacts, "contact")
    )
}

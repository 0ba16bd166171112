//! `kitlog batches [N]`: what was saved, one batch a line, id and shift days first;
//! or the contacts of batch N, so a wrong row can be found and voided.

use std::io::Write;

use super::{Context, output};
use crate::cli::BatchesArgs;
use crate::contact::{BatchContact, count_words};
use crate::error::Result;

/// Lists every batch, voided ones marked, or one batch's contacts.
pub(super) fn run(args: &BatchesArgs, context: &Context, out: &mut impl Write) -> Result<()> {
    let store = context.unlock()?.store;
    if let Some(batch) = args.batch {
        return contacts(batch, &store.batch_contacts(batch)?, out);
    }
    let batches = store.batches()?;
    if batches.is_empty() {
        return output(writeln!(
            out,
            "no batches yet; import a shift sheet with kitlog import"
        ));
    }
    // The shift's day first: that is what a coordinator looks for ("the van on the
    // 16th"), not the day it was typed in.
    let days: Vec<String> = batches
        .iter()
        .map(|b| match &b.days {
            Some((first, last)) if first == last => first.clone(),
            Some((first, last)) => format!("{first} to {last}"),
            None => "-".to_owned(),
        })
        .collect();
    let days_width = days.iter().map(String::len).max().unwrap_or(0).max(10);
    let sites_width = batches
        .iter()
        .map(|b| b.sites.len())
        .max()
        .unwrap_or(0)
        .max(5);
    output(writeln!(
        out,
        "batch  {:days_width$}  saved       source  {:sites_width$}  worker  contacts  items  status",
        "days", "sites"
    ))?;
    for (batch, days) in batches.iter().zip(&days) {
        let mut status = match (&batch.voided_reason, batch.voided_contacts) {
            (Some(reason), _) => format!("voided ({reason})"),
            (None, _) if batch.forwarded => "at the coordinator (erased here)".to_owned(),
            (None, _) if batch.refused => {
                "refused by the coordinator: its year was closed (erased here)".to_owned()
            }
            (None, 0) => String::new(),
            (None, 1) => "1 contact voided".to_owned(),
            (None, n) => format!("{n} contacts voided"),
        };
        if let Some(laptop) = &batch.from {
            status = if status.is_empty() {
                format!("from {laptop}")
            } else {
                format!("from {laptop}; {status}")
            };
        }
        let line = format!(
            "{:<5}  {days:days_width$}  {:10}  {:6}  {:sites_width$}  {:6}  {:>8}  {:>5}  {status}",
            batch.id,
            batch.saved_on,
            batch.source,
            batch.sites,
            batch.worker.as_deref().unwrap_or("-"),
            batch.contacts,
            batch.items,
        );
        output(writeln!(out, "{}", line.trim_end()))?;
    }
    Ok(())
}

/// One line per contact: its number (what `void --contact` takes), day, site,
/// whether it has a code (never the code), and what was handed out.
fn contacts(batch: i64, contacts: &[BatchContact], out: &mut impl Write) -> Result<()> {
    let sites_width = contacts
        .iter()
        .map(|c| c.site.len())
        .max()
        .unwrap_or(0)
        .max(4);
    output(writeln!(
        out,
        "contact  day         {:sites_width$}  who        handed out",
        "site"
    ))?;
    for contact in contacts {
        let mut parts = Vec::new();
        if !contact.items.is_empty() {
            parts.push(contact.items.clone());
        }
        let (reversals, for_others, returned) = contact.counts;
        parts.extend(count_words(reversals, for_others, returned));
        if let Some(reason) = &contact.naloxone_reason {
            parts.push(format!("reason {reason}"));
        }
        if let Some(reason) = &contact.voided_reason {
            parts.push(format!("(voided: {reason})"));
        }
        output(writeln!(
            out,
            "{:<7}  {:10}  {:sites_width$}  {:9}  {}",
            contact.position,
            contact.day,
            contact.site,
            if contact.coded { "coded" } else { "anonymous" },
            parts.join(", ")
        ))?;
    }
    output(writeln!(
        out,
        "to void one: kitlog void {batch} --contact N --reason entry-error|duplicate|test"
    ))
}

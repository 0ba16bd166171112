//! `kitlog batches`: what was saved, one batch a line, id first.

use std::io::Write;

use super::{Context, output};
use crate::error::Result;

/// Lists every batch, voided ones marked, so a wrong one can be found and voided.
pub(super) fn run(context: &Context, out: &mut impl Write) -> Result<()> {
    let store = context.unlock()?.store;
    let batches = store.batches()?;
    if batches.is_empty() {
        return output(writeln!(
            out,
            "no batches yet; import a shift sheet with kitlog import"
        ));
    }
    let sites_width = batches
        .iter()
        .map(|b| b.sites.len())
        .max()
        .unwrap_or(0)
        .max(5);
    output(writeln!(
        out,
        "batch  saved       source  {:sites_width$}  worker  contacts  items  status",
        "sites"
    ))?;
    for batch in batches {
        let status = match (&batch.voided_reason, batch.voided_contacts) {
            (Some(reason), _) => format!("voided ({reason})"),
            (None, 0) => String::new(),
            (None, 1) => "1 contact voided".to_owned(),
            (None, n) => format!("{n} contacts voided"),
        };
        let line = format!(
            "{:<5}  {:10}  {:6}  {:sites_width$}  {:6}  {:>8}  {:>5}  {status}",
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

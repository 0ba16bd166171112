//! `kitlog report`: the funder's CSV, small cells hidden, decided against every earlier
//! release and recorded in the ledger. Needs no passphrase.

use std::io::{IsTerminal, Write};

use super::{Context, output};
use crate::catalogue::normalise_name;
use crate::cli::ReportArgs;
use crate::error::{Error, Result};
use crate::fiscal::PeriodKind;
use crate::report::Dimensions;
use crate::report::release::{Prepared, Request, prepare, record, render};
use crate::text::Count;

/// What spreadsheets look for to read a CSV file as UTF-8.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Decides the report, records it if it is a release, and writes it to `--out`
/// (atomically, never over a file unless `--force`) or to standard output.
pub(super) fn run(args: &ReportArgs, context: &Context, out: &mut impl Write) -> Result<()> {
    let dimensions = Dimensions::parse(&args.by).ok_or(Error::InvalidBreakdown)?;
    let recipient = args
        .recipient
        .as_deref()
        .map(|name| normalise_name("recipient", name))
        .transpose()?;
    if let Some(path) = &args.out {
        if !args.force && path.symlink_metadata().is_ok() {
            return Err(Error::OutputExists(path.clone()));
        }
    }
    let request = Request {
        kind: args.period.into(),
        from: args.from,
        to: args.to,
        dimensions,
        min_cell: args.min_cell,
        recipient,
        today: context.today,
    };
    let mut store = context.unlock()?.store;
    // At a terminal, say why the first release of a coarse period can take a while
    // (scripts and files get only what they asked for).
    if matches!(request.kind, PeriodKind::Quarter | PeriodKind::FiscalYear)
        && std::io::stderr().is_terminal()
    {
        eprintln!(
            "deciding what to hide: the first release of a quarter or fiscal year can take minutes on a busy program; later ones print at once"
        );
    }
    let (prepared, number, mut bytes) = store.write(|store| {
        let prepared = prepare(store, &request)?;
        let number = if prepared.is_release() {
            Some(store.next_release()?)
        } else {
            None
        };
        let bytes = render(&prepared, &request, number)?;
        if prepared.is_release() {
            record(store, &prepared, &request, &args.by_key(), &bytes)?;
        }
        Ok((prepared, number, bytes))
    })?;
    for note in left_out_notes(&prepared) {
        eprintln!("note: {note}");
    }
    match number {
        Some(number) => eprintln!(
            "release {number}: {} ({} hidden in whole or part; the hidden contact counts add up to {})",
            Count(prepared.rows.len() as u64, "row"),
            prepared.hidden_cells(),
            prepared.hidden_contacts()
        ),
        None if prepared.on_worker => eprintln!(
            "note: this laptop holds only the contacts the coordinator has not yet acknowledged; this report covers those only, is not a release and is not recorded"
        ),
        None if prepared.min_cell == 1 => eprintln!(
            "note: --min-cell 1 hides nothing; this report is for the program's own use, never for publication, and is not a release"
        ),
        None => eprintln!(
            "note: --min-cell {} is below the program's {}; this report is for the program's own checks, is not a release and is not recorded",
            prepared.min_cell, prepared.program_min_cell
        ),
    }
    if args.bom {
        bytes.splice(0..0, UTF8_BOM.iter().copied());
    }
    match &args.out {
        Some(path) => {
            // The release is recorded already (a record without its file is the safe
            // way round: later releases agree with it); say how to print it again.
            write_atomically(path, &bytes).map_err(|cause| match number {
                Some(number) => Error::ReleaseNotWritten {
                    number,
                    cause: Box::new(cause),
                },
                None => cause,
            })?;
            output(writeln!(
                out,
                "wrote {} to {} ({} hidden as {})",
                Count(prepared.rows.len() as u64, "row"),
                path.display(),
                prepared.hidden_cells(),
                crate::report::SUPPRESSED
            ))
        }
        None => output(out.write_all(&bytes)),
    }
}

/// What a release leaves out or hides more bluntly than usual, one sentence each:
/// said on stderr by every command that releases (a report, a form, the summary
/// page), so that no undercount is silent.
pub(super) fn left_out_notes(prepared: &Prepared) -> Vec<String> {
    let mut notes: Vec<String> = prepared
        .left_out
        .iter()
        .map(|period| {
            format!(
                "{} is not over yet, so it is left out; report a period once it has ended and its sheets are in",
                period.label
            )
        })
        .collect();
    if prepared.held_back > 0 {
        notes.push(format!(
            "{} saved or voided after these days were first reported {} held back (a late sheet is left out, a void does not apply), so that this release agrees with the earlier ones",
            Count(prepared.held_back, "contact"),
            Count(prepared.held_back, "contact").verb_be()
        ));
    }
    if !prepared.fell_back.is_empty() {
        notes.push(format!(
            "in {}, some cells could not be protected one by one, so more is hidden there, up to everything that may be",
            prepared.fell_back.join(", ")
        ));
    }
    notes
}

impl ReportArgs {
    /// The breakdown as the ledger records it: `--by`, canonical.
    fn by_key(&self) -> String {
        Dimensions::parse(&self.by).map_or_else(|| self.by.clone(), |d| d.key().to_owned())
    }
}

/// Temp file in the same folder, synced, then renamed over `path`: a reader never
/// sees half a report, and a crash leaves the old file (or none), never a torn one.
pub(super) fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => std::path::Path::new("."),
    };
    let fail = |e: &std::io::Error| Error::file("write", path, e);
    let mut file = tempfile::NamedTempFile::new_in(folder).map_err(|e| fail(&e))?;
    file.write_all(bytes).map_err(|e| fail(&e))?;
    // Sync before the rename, or a crash could leave the new name on empty content.
    file.as_file().sync_all().map_err(|e| fail(&e))?;
    file.persist(path).map_err(|e| fail(&e.error))?;
    Ok(())
}

//! `kitlog report`: the funder's CSV, small cells hidden. Needs no passphrase.

use std::io::Write;

use super::{Context, output};
use crate::cli::ReportArgs;
use crate::error::{Error, Result};
use crate::report::csv::write_csv;
use crate::report::query::build_rows;
use crate::report::{Dimensions, ReportQuery};
use crate::store::Store;

/// What spreadsheets look for to read a CSV file as UTF-8.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Builds the report and writes it to `--out` (atomically) or to standard output.
pub(super) fn run(args: &ReportArgs, context: &Context, out: &mut impl Write) -> Result<()> {
    let dimensions = Dimensions::parse(&args.by).ok_or(Error::InvalidBreakdown)?;
    let store = Store::open(&context.db)?;
    // One moment for every read below, even while another kitlog saves.
    let _snapshot = store.snapshot()?;
    let settings = store.settings()?;
    let min_cell = args.min_cell.unwrap_or(settings.min_cell);
    if min_cell == 0 {
        return Err(Error::MinCellZero);
    }
    let kind = args.period.into();
    let calendar = settings.calendar;
    let query = ReportQuery {
        kind,
        dimensions,
        min_cell,
        calendar,
    };
    // --from and --to select whole periods: the ones containing those days.
    let range = store.live_day_range()?;
    let from = args
        .from
        .map(|day| calendar.period_of(kind, day).start)
        .or(range.map(|r| r.0));
    let to = args
        .to
        .map(|day| calendar.period_of(kind, day).end)
        .or(range.map(|r| r.1));
    if let (Some(from), Some(to)) = (from, to) {
        if from > to {
            return Err(Error::EmptyRange);
        }
    }

    let rows = match (from, to) {
        (Some(from), Some(to)) => build_rows(&store, &query, from, to)?,
        _ => Vec::new(),
    };

    if min_cell == 1 {
        eprintln!(
            "note: --min-cell 1 hides nothing; this report is for the program's own use, never for publication"
        );
    } else if min_cell < settings.min_cell {
        eprintln!(
            "note: --min-cell {min_cell} is below the program's {}; publish a report with one threshold only, never several",
            settings.min_cell
        );
    }
    let mut csv = Vec::new();
    if args.bom {
        csv.extend_from_slice(UTF8_BOM);
    }
    write_csv(&rows, &mut csv).map_err(|_| Error::Output(std::io::ErrorKind::Other))?;
    match &args.out {
        Some(path) => {
            write_atomically(path, &csv)?;
            let hidden = rows.iter().filter(|r| r.measures.is_none()).count();
            output(writeln!(
                out,
                "wrote {} rows to {} ({hidden} hidden as {})",
                rows.len(),
                path.display(),
                crate::report::SUPPRESSED
            ))
        }
        None => output(out.write_all(&csv)),
    }
}

/// Temp file in the same folder, synced, then renamed over `path`: a reader never
/// sees half a report, and a crash leaves the old file (or none), never a torn one.
fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
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

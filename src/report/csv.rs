//! The report as CSV: the label columns, then one column per measure of
//! [`MEASURES`](super::MEASURES), a hidden value written as [`SUPPRESSED`].

use crate::measures::measure_columns;
use super::{ReportRow, SUPPRESSED};

/// The label columns that start every report row, in order.
pub const LABEL_COLUMNS: [&str; 5] = ["period", "period_start", "period_end", "site", "item"];

/// Writes the rows as CSV, header first (also when there are no rows).
pub fn write_csv(rows: &[ReportRow], out: impl std::io::Write) -> ::csv::Result<()> {
    let mut writer = ::csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(out);
    writer.write_record(LABEL_COLUMNS.into_iter().chain(measure_columns()))?;
    let mut record: Vec<String> = Vec::new();
    for row in rows {
        record.clear();
        record.extend([
            row.period.label.clone(),
            row.period.start.to_string(),
            row.period.end.to_string(),
            row.site.clone(),
            row.item.clone(),
        ]);
        match &row.measures {
            Some(measures) => record.extend(measures.values().iter().map(u64::to_string)),
            None => record.extend(measure_columns().map(|_| SUPPRESSED.to_owned())),
        }
        writer.write_record(&record)?;
    }
    writer.flush()?;
    Ok(())
}

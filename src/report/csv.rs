//! The report as CSV: the label columns, then one column per measure of
//! [`crate::measures::MEASURES`], a hidden count written as [`SUPPRESSED`],
//! then the row's `level`, so totals can be filtered out in a spreadsheet.

use super::{Dimensions, ItemLevel, ReportRow, SUPPRESSED};
use crate::measures::{MEASURES, measure_columns};

/// The label columns that start every report row, in order (the fifth is `category`
/// in a report by category).
pub const LABEL_COLUMNS: [&str; 5] = ["period", "period_start", "period_end", "site", "item"];

/// The column after the measures: which total a row is.
pub const LEVEL_COLUMN: &str = "level";

/// Writes the rows as CSV, header first (also when there are no rows).
pub fn write_csv(
    rows: &[ReportRow],
    dimensions: Dimensions,
    out: impl std::io::Write,
) -> ::csv::Result<()> {
    let mut writer = ::csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(out);
    let mut header = LABEL_COLUMNS;
    if dimensions.item == ItemLevel::Category {
        header[4] = "category";
    }
    writer.write_record(
        header
            .into_iter()
            .chain(measure_columns())
            .chain([LEVEL_COLUMN]),
    )?;
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
        record.extend(MEASURES.iter().map(|(measure, _, _)| {
            row.value(*measure)
                .map_or_else(|| SUPPRESSED.to_owned(), |value| value.to_string())
        }));
        record.push(row.level().as_str().to_owned());
        writer.write_record(&record)?;
    }
    writer.flush()?;
    Ok(())
}

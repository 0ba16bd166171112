//! `kitlog template list|show` and `kitlog fill`: a funder's form filled from a
//! release. The release is decided and recorded like any report's (so it is
//! protected together with everything released before and after it); the form's
//! cells are sums, products and ratios of its numbers, hidden where one is hidden.

use std::io::Write;
use std::path::{Path, PathBuf};

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use super::report::{left_out_notes, write_atomically};
use super::{Context, output};
use crate::catalogue::normalise_name;
use crate::cli::{FillArgs, TemplateCommand};
use crate::error::{Error, Result};
use crate::report::release::{Prepared, Request, prepare, record};
use crate::report::{Dimensions, SUPPRESSED};
use crate::template::{Cell, Form, SHIPPED, Template};

/// The folder, beside the program file, of a program's own templates.
const OWN_TEMPLATES: &str = "kitlog-templates";

/// `kitlog template list|show`: needs no passphrase (templates hold no data).
pub(super) fn run_template(
    command: TemplateCommand,
    context: &Context,
    out: &mut impl Write,
) -> Result<()> {
    match command {
        TemplateCommand::List => {
            for found in all_templates(&context.db) {
                let whose = if found.own {
                    "  (the program's own)"
                } else {
                    ""
                };
                let name = &found.name;
                let line = match found.template() {
                    Ok(template) => format!(
                        "{name:28} {:11} {}{whose}",
                        template.kind.as_str(),
                        template.title
                    ),
                    Err(Error::TemplateUnreadable { reason, .. }) => {
                        format!("{name:28} cannot be used: {reason}{whose}")
                    }
                    Err(other) => return Err(other),
                };
                output(writeln!(out, "{line}"))?;
            }
            output(writeln!(
                out,
                "a program's own templates go in {} beside the program file",
                own_folder(&context.db).display()
            ))
        }
        TemplateCommand::Show { name } => {
            let found = find(&context.db, &name)?;
            found.template()?;
            output(write!(out, "{}", found.text.unwrap_or_default()))
        }
    }
}

/// `kitlog fill TEMPLATE`: decides and records the release, then writes the form.
pub(super) fn run_fill(args: &FillArgs, context: &Context, out: &mut impl Write) -> Result<()> {
    let template = find(&context.db, &args.template)?.template()?;
    if args
        .denominator
        .is_some_and(|people| !people.is_finite() || people <= 0.0)
    {
        return Err(Error::DenominatorInvalid);
    }
    if let (Some(what), None) = (&template.denominator, args.denominator) {
        return Err(Error::DenominatorNeeded(what.clone()));
    }
    let workbook = match &args.out {
        Some(path) if !args.force && path.symlink_metadata().is_ok() => {
            return Err(Error::OutputExists(path.clone()));
        }
        Some(path) => path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("xlsx")),
        None => false,
    };
    let recipient = args
        .recipient
        .as_deref()
        .map(|name| normalise_name("recipient", name))
        .transpose()?;
    let request = Request {
        kind: template.kind,
        from: args.from,
        to: args.to,
        dimensions: Dimensions {
            site: false,
            item: template.by,
        },
        min_cell: None,
        recipient,
        today: context.today,
    };
    let mut store = context.unlock()?.store;
    super::coordinator_only(&store, "filling a funder's form")?;
    let unknown = template.unknown_names(&store.catalogue()?);
    if !unknown.is_empty() {
        return Err(Error::TemplateNamesUnknown {
            name: template.name.clone(),
            unknown: unknown.join(", "),
        });
    }
    let (prepared, number, form, csv) = store.write(|store| {
        let prepared = prepare(store, &request)?;
        if prepared.periods.is_empty() {
            return Err(Error::NothingToFill(template.kind.as_str()));
        }
        let number = store.next_release()?;
        let form = template.fill(&prepared.periods, &prepared.rows, args.denominator);
        let notes = notes(&template, &prepared, number, &request);
        let csv = form_csv(&template, &form, &notes);
        let breakdown = format!("{} (form {})", request.dimensions.key(), template.name);
        record(store, &prepared, &request, &breakdown, &csv)?;
        Ok((prepared, number, form, csv))
    })?;
    for note in left_out_notes(&prepared) {
        eprintln!("note: {note}");
    }
    eprintln!(
        "release {number}: {} filled ({} of its cells hidden)",
        template.title,
        hidden_cells(&form)
    );
    let Some(path) = &args.out else {
        return output(out.write_all(&csv));
    };
    let bytes = if workbook {
        let notes = notes(&template, &prepared, number, &request);
        form_workbook(&template, &form, &notes).map_err(|_| Error::ReleaseNotWritten {
            number,
            cause: Box::new(Error::Output(std::io::ErrorKind::Other)),
        })?
    } else {
        csv
    };
    write_atomically(path, &bytes).map_err(|cause| Error::ReleaseNotWritten {
        number,
        cause: Box::new(cause),
    })?;
    output(writeln!(
        out,
        "wrote {} to {}",
        template.title,
        path.display()
    ))
}

/// A template found: shipped, or a file of the program's own.
struct Found {
    name: String,
    /// Its text, or why the file could not be read (one bad file must not hide the
    /// others, nor the shipped templates).
    text: std::result::Result<String, String>,
    own: bool,
}

impl Found {
    /// The template, read and checked.
    fn template(&self) -> Result<Template> {
        let unreadable = |reason: String| Error::TemplateUnreadable {
            name: self.name.clone(),
            reason,
        };
        let text = self
            .text
            .as_ref()
            .map_err(|reason| unreadable(reason.clone()))?;
        Template::parse(&self.name, text).map_err(|problem| unreadable(problem.0))
    }
}

/// Every template: the shipped ones, then the program's own (which may replace a
/// shipped one of the same name).
fn all_templates(db: &Path) -> Vec<Found> {
    let mut templates: Vec<Found> = SHIPPED
        .iter()
        .map(|(name, text)| Found {
            name: (*name).to_owned(),
            text: Ok((*text).to_owned()),
            own: false,
        })
        .collect();
    let Ok(entries) = std::fs::read_dir(own_folder(db)) else {
        return templates;
    };
    let mut own: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file() && path.extension().is_some_and(|e| e == "toml"))
        .collect();
    own.sort();
    for path in own {
        let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|_| "the file cannot be read as UTF-8 text".to_owned());
        templates.retain(|found| found.name != name);
        templates.push(Found {
            name: name.to_owned(),
            text,
            own: true,
        });
    }
    templates
}

fn find(db: &Path, name: &str) -> Result<Found> {
    all_templates(db)
        .into_iter()
        .find(|found| found.name == name)
        .ok_or_else(|| Error::NoSuchTemplate(name.to_owned()))
}

fn own_folder(db: &Path) -> PathBuf {
    match db.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.join(OWN_TEMPLATES),
        _ => PathBuf::from(OWN_TEMPLATES),
    }
}

fn hidden_cells(form: &Form) -> usize {
    form.rows
        .iter()
        .flat_map(|(_, cells)| cells)
        .filter(|cell| matches!(cell, Cell::Hidden))
        .count()
}

/// What the form carries besides its numbers: what `x` means, the threshold, the
/// release, the calendar, and every row's definition.
fn notes(template: &Template, prepared: &Prepared, number: i64, request: &Request) -> Vec<String> {
    let mut notes = vec![
        format!(
            "{SUPPRESSED} = hidden: it needs a count about fewer than {} contacts or participants, or one hidden so that such a count cannot be worked out from this or any other release",
            prepared.min_cell
        ),
        format!("threshold (min-cell): {}", prepared.min_cell),
        format!(
            "kitlog release {number}, made {}; kitlog releases show {number} prints this form again",
            request.today
        ),
        format!(
            "periods: {} of the program's fiscal calendar ({})",
            template.kind.as_str(),
            prepared
                .periods
                .iter()
                .map(|p| format!("{} = {} to {}", p.label, p.start, p.end))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        "participants are distinct codes within a fiscal year: an estimate, since people misremember their codes".to_owned(),
    ];
    notes.extend(left_out_notes(prepared));
    if let Some(funder) = &template.funder {
        notes.insert(0, format!("for: {funder}"));
    }
    notes.extend(
        template
            .definitions()
            .into_iter()
            .map(|d| format!("row {d}")),
    );
    notes
}

/// The form as CSV: the title, a header of periods, one line a row; then a blank
/// line and the notes, one a line, as a report's CSV ends.
fn form_csv(template: &Template, form: &Form, notes: &[String]) -> Vec<u8> {
    let mut header = vec![String::new()];
    header.extend(form.columns.iter().cloned());
    let mut records = vec![vec![template.title.clone()], header];
    for (label, cells) in &form.rows {
        let mut record = vec![label.clone()];
        record.extend(cells.iter().map(Cell::text));
        records.push(record);
    }
    let mut bytes = csv_lines(&records);
    bytes.push(b'\n');
    let notes: Vec<Vec<String>> = notes.iter().map(|note| vec![note.clone()]).collect();
    bytes.extend(csv_lines(&notes));
    bytes
}

/// Records of any lengths as CSV lines.
fn csv_lines(records: &[Vec<String>]) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    for record in records {
        writer
            .write_record(record)
            .expect("writing to a Vec cannot fail");
    }
    writer.into_inner().expect("writing to a Vec cannot fail")
}

/// The form as a workbook: the form on its first sheet (numbers as numbers, hidden
/// cells as `x` in red, explained under the form), the notes on a second.
fn form_workbook(
    template: &Template,
    form: &Form,
    notes: &[String],
) -> std::result::Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let hidden = Format::new().set_font_color("#C00000").set_bold();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Form")?;
    sheet.write_string_with_format(0, 0, &template.title, &bold)?;
    for (column, label) in (1u16..).zip(&form.columns) {
        sheet.write_string_with_format(1, column, label, &bold)?;
        sheet.set_column_width(column, 14)?;
    }
    sheet.set_column_width(0, 60)?;
    let mut row = 2u32;
    for (label, cells) in &form.rows {
        sheet.write_string(row, 0, label)?;
        for (column, cell) in (1u16..).zip(cells) {
            match cell {
                #[expect(clippy::cast_precision_loss, reason = "counts stay far below 2^52")]
                Cell::Count(n) => sheet.write_number(row, column, *n as f64)?,
                Cell::Decimal(x) => sheet.write_number(row, column, *x)?,
                Cell::Hidden => sheet.write_string_with_format(row, column, SUPPRESSED, &hidden)?,
                Cell::Text(_) | Cell::NotApplicable => {
                    sheet.write_string(row, column, cell.text())?
                }
            };
        }
        row += 1;
    }
    sheet.write_string(row + 1, 0, notes_of_x(notes))?;
    let sheet = workbook.add_worksheet();
    sheet.set_name("Notes")?;
    sheet.set_column_width(0, 120)?;
    for (row, note) in (0u32..).zip(notes) {
        sheet.write_string(row, 0, note)?;
    }
    workbook.save_to_buffer()
}

/// The note on hidden cells, repeated under the form where a reader looks first.
fn notes_of_x(notes: &[String]) -> String {
    notes
        .iter()
        .find(|n| n.starts_with(SUPPRESSED))
        .cloned()
        .unwrap_or_default()
}

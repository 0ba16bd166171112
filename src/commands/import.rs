//! `kitlog import`: a shift sheet in, one batch saved, or nothing at all.

use std::fs::File;
use std::io::{BufReader, IsTerminal, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use zeroize::Zeroizing;

use super::{Context, output};
use crate::catalogue::{Catalogue, normalise_name};
use crate::cli::ImportArgs;
use crate::code::CodeMaker;
use crate::contact::{BatchHeader, BatchSource, BatchTally, BatchTotals, Contact, WorkerLabel};
use crate::error::{Error, Result, render_warnings};
use crate::fiscal::FiscalCalendar;
use crate::import::{SheetDefaults, SheetError, Warnings, append_canonical, read_sheet};
use crate::keys::{ProgramKey, SheetDigester};
use crate::store::Store;
use crate::text::Count;
use crate::unlock::Program;

/// Checks everything it can before asking for the passphrase (once, for every sheet),
/// then imports each sheet in its own transaction: a sheet with a problem is not
/// saved, and the others still are.
pub(super) fn run(args: &ImportArgs, context: &Context, out: &mut impl Write) -> Result<()> {
    if let Some(date) = args.date {
        if date > context.today {
            return Err(Error::FutureDateArgument {
                date,
                today: context.today,
            });
        }
    }
    let worker = args.worker.as_deref().map(WorkerLabel::parse).transpose()?;
    let site_name = args
        .site
        .as_deref()
        .map(|name| normalise_name("site", name))
        .transpose()?;
    // Every sheet must be there before anything is saved: a typo in the last name of
    // a long list is better found first.
    for path in &args.files {
        readable(path)?;
    }

    let Program { mut store, key, .. } = context.unlock()?;
    let settings = store.settings()?;
    let catalogue = store.catalogue()?;
    let worker = match worker {
        Some(label) => Some(WorkerLabel::choose(
            label.as_str(),
            &store.worker_labels()?,
        )?),
        None => None,
    };
    let site = match site_name {
        Some(name) => Some(
            catalogue
                .site(&name)
                .ok_or(Error::NotInCatalogue { kind: "site", name })?,
        ),
        None => None,
    };
    let mut importer = Importer {
        args,
        interactive: context.passphrase.terminal,
        header: BatchHeader {
            source: BatchSource::Import,
            worker,
            saved_on: context.today,
        },
        defaults: SheetDefaults {
            site,
            date: args.date,
            today: context.today,
            made_on: Some(store.created_on()?),
        },
        codes: CodeMaker::new(&key, settings.calendar, settings.code_format.clone())
            .with_carried(store.carried_epoch_keys()?),
        catalogue: &catalogue,
        calendar: settings.calendar,
        key: &key,
    };
    if let [path] = args.files.as_slice() {
        let outcome = importer.import(&mut store, path)?;
        return output(writeln!(out, "{}", outcome.said(path)));
    }
    let mut failed = Vec::new();
    let mut saved = Vec::new();
    for path in &args.files {
        match importer.import(&mut store, path) {
            Ok(outcome) => {
                output(writeln!(
                    out,
                    "{}: {}",
                    path.display(),
                    outcome.said_briefly()
                ))?;
                saved.push(path);
            }
            Err(error) => {
                eprintln!("error: {}: {error}", path.display());
                failed.push(path);
            }
        }
    }
    if !args.dry_run && !saved.is_empty() {
        let names: Vec<String> = saved.iter().map(|p| shell_word(p)).collect();
        output(writeln!(
            out,
            "note: the saved sheets still hold raw participant codes; delete them now\n\
             \x20 (Linux: shred -u {}; elsewhere delete them and empty the trash)",
            names.join(" ")
        ))?;
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::SheetsNotImported {
            failed: failed.len(),
            total: args.files.len(),
        })
    }
}

/// A sheet that can be opened: not a folder, there, readable.
fn readable(path: &Path) -> Result<File> {
    if path.is_dir() {
        return Err(Error::File {
            action: "read",
            path: path.to_owned(),
            reason: "it is a folder".to_owned(),
        });
    }
    File::open(path).map_err(|e| Error::file("read", path, &e))
}

/// What every sheet of one command shares.
struct Importer<'a, 'k> {
    args: &'a ImportArgs,
    /// A person at a terminal, who can confirm a sheet with warnings.
    interactive: bool,
    header: BatchHeader,
    defaults: SheetDefaults<'a>,
    codes: CodeMaker<'k>,
    catalogue: &'a Catalogue,
    calendar: FiscalCalendar,
    key: &'k ProgramKey,
}

/// What became of one sheet.
enum Outcome {
    Saved(i64, BatchTotals),
    /// A dry run: what would be saved, and how many warnings the import will ask about.
    Checked(BatchTotals, u64),
}

/// `path` as one word for a POSIX shell, quoted when it needs to be: the `shred -u`
/// hint must not shred `my` and `sheet.csv` for `my sheet.csv`.
pub(super) fn shell_word(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@=".contains(c));
    if plain {
        text
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

impl Outcome {
    /// What a single sheet's import says.
    fn said(&self, path: &Path) -> String {
        let shell = shell_word(path);
        let path = path.display();
        match self {
            Outcome::Saved(batch, totals) => format!(
                "saved batch {batch}: {totals}\n\
                 note: {path} still holds raw participant codes; delete it now that it is saved\n\
                 \x20 (Linux: shred -u {shell}; elsewhere delete it and empty the trash)"
            ),
            Outcome::Checked(totals, 0) => {
                format!("dry run: the sheet is fine; it would save {totals}\nnothing was saved")
            }
            Outcome::Checked(totals, warnings) => format!(
                "dry run: the sheet is fine apart from {} (above), which the import asks about (--yes accepts them); it would save {totals}\nnothing was saved",
                Count(*warnings, "warning")
            ),
        }
    }

    /// One line per sheet when there are several.
    fn said_briefly(&self) -> String {
        match self {
            Outcome::Saved(batch, totals) => format!("saved batch {batch}: {totals}"),
            Outcome::Checked(totals, 0) => format!("fine (dry run); it would save {totals}"),
            Outcome::Checked(totals, warnings) => format!(
                "fine (dry run) apart from {}; it would save {totals}",
                Count(*warnings, "warning")
            ),
        }
    }
}

impl Importer<'_, '_> {
    /// Imports one sheet whole or not at all. Warnings are printed; unless `--yes`,
    /// a sheet with warnings is rolled back and, at a terminal, saved again only once
    /// the worker says so.
    fn import(&mut self, store: &mut Store, path: &Path) -> Result<Outcome> {
        if self.args.dry_run {
            let (totals, warnings) = self.check(store, path)?;
            eprint!("{}", render_warnings(&warnings));
            return Ok(Outcome::Checked(totals, warnings.count));
        }
        match self.save(store, path, self.args.yes) {
            Ok((outcome, warnings)) => {
                // Saved with --yes: the warnings still go on record in the output.
                eprint!("{}", render_warnings(&warnings));
                Ok(outcome)
            }
            Err(Error::ImportUnconfirmed(warnings)) => {
                eprint!("{}", render_warnings(&warnings));
                let question = format!("save {} anyway? [y/N] ", path.display());
                if !self.interactive || !confirm(&question)? {
                    return Err(Error::ImportUnconfirmed(warnings));
                }
                self.save(store, path, true).map(|(outcome, _)| outcome)
            }
            Err(error) => Err(error),
        }
    }

    /// The sheet, checked as the import checks it, nothing written.
    fn check(&mut self, store: &Store, path: &Path) -> Result<(BatchTotals, Warnings)> {
        let sheet = Sheet {
            input: progress(readable(path)?),
            catalogue: self.catalogue,
            defaults: self.defaults,
            codes: &mut self.codes,
        };
        dry_run(store, sheet, tally(self.catalogue, self.key), self.calendar)
    }

    /// Contacts are written as they are read, inside one transaction that is rolled
    /// back on the first error, or at the end when warnings are not accepted.
    fn save(
        &mut self,
        store: &mut Store,
        path: &Path,
        accept_warnings: bool,
    ) -> Result<(Outcome, Warnings)> {
        let input = progress(readable(path)?);
        let tally = tally(self.catalogue, self.key);
        let (catalogue, defaults, codes) = (self.catalogue, self.defaults, &mut self.codes);
        let (batch, (totals, warnings)) = store.save_batch_with(&self.header, |writer| {
            let sheet = Sheet {
                input,
                catalogue,
                defaults,
                codes,
            };
            let (totals, digest, warnings) =
                sheet.read_beside(tally, |contact| writer.add(contact))?;
            if !warnings.is_empty() && !accept_warnings {
                return Err(Error::ImportUnconfirmed(warnings));
            }
            writer.set_sheet_digest(digest);
            Ok((totals, warnings))
        })?;
        Ok((Outcome::Saved(batch, totals), warnings))
    }
}

/// Each contact is added up and digested as it is read, so the sheet is never held
/// whole: memory stays flat however long the sheet is.
fn tally<'c>(catalogue: &'c Catalogue, key: &ProgramKey) -> Tally<'c> {
    Tally {
        totals: BatchTally::new(catalogue),
        digest: key.sheet_digester(),
        canonical: Zeroizing::new(Vec::with_capacity(128)),
    }
}

/// Asks on standard error, reads the answer from standard input.
fn confirm(question: &str) -> Result<bool> {
    eprint!("{question}");
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| Error::Output(e.kind()))?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// The sheet's bytes, counted into a progress bar on standard error. The bar appears
/// only after a second (a small sheet never flickers one) and only on a terminal:
/// a 5,000,000-contact import once sat silent for half a minute.
fn progress(file: File) -> Progress<BufReader<File>> {
    let length = file.metadata().map_or(0, |m| m.len());
    let bar = ProgressBar::with_draw_target(Some(length), ProgressDrawTarget::hidden());
    if let Ok(style) =
        ProgressStyle::with_template("{wide_bar} {percent}% of {total_bytes}, {eta} left")
    {
        bar.set_style(style);
    }
    Progress {
        inner: BufReader::with_capacity(1 << 16, file),
        bar,
        started: Instant::now(),
        shown: false,
    }
}

/// A reader that moves a progress bar; see [`progress`].
struct Progress<R> {
    inner: R,
    bar: ProgressBar,
    started: Instant,
    shown: bool,
}

impl<R: Read> Read for Progress<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.bar.inc(read as u64);
        if !self.shown && self.started.elapsed() > Duration::from_secs(1) {
            self.shown = true;
            if std::io::stderr().is_terminal() {
                self.bar.set_draw_target(ProgressDrawTarget::stderr());
            }
        }
        Ok(read)
    }
}

impl<R> Drop for Progress<R> {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// Every check the import makes, in its order, writing nothing: the sheet, then a
/// duplicate, then a closed year (a dry run once passed a sheet the import refused).
fn dry_run<R: Read + Send>(
    store: &Store,
    sheet: Sheet<'_, '_, R>,
    tally: Tally<'_>,
    calendar: FiscalCalendar,
) -> Result<(BatchTotals, Warnings)> {
    let closed = store.closed_years()?;
    let mut first_closed = None;
    let (totals, digest, warnings) = sheet.read_beside(tally, |contact| {
        if first_closed.is_none() && closed.contains(&contact.fiscal_year.start_year()) {
            first_closed = Some(contact.day);
        }
        Ok(())
    })?;
    if let Some(existing) = store.find_import(&digest)? {
        return Err(Error::AlreadyImported(existing));
    }
    if let Some(day) = first_closed {
        return Err(Error::YearClosed(calendar.year_of(day).to_string()));
    }
    Ok((totals, warnings))
}

/// What is added up over a sheet's contacts as they stream past.
struct Tally<'c> {
    totals: BatchTally<'c>,
    digest: SheetDigester,
    /// One contact's canonical bytes, reused for every contact; wiped when dropped, as
    /// it holds codes.
    canonical: Zeroizing<Vec<u8>>,
}

impl Tally<'_> {
    fn add(&mut self, contact: &Contact) {
        self.totals.add(contact);
        self.canonical.clear();
        append_canonical(contact, &mut self.canonical);
        self.digest.update(&self.canonical);
    }

    fn finish(self) -> (BatchTotals, [u8; 32]) {
        (self.totals.finish(), self.digest.finish())
    }
}

/// Contacts per message from the reading thread to the writing one.
const CHUNK: usize = 512;

/// The writing thread stopped taking contacts (it failed, and says why itself).
#[derive(Debug)]
struct WriterStopped;

/// What `read_sheet` needs, gathered to hand to another thread.
struct Sheet<'a, 'k, R> {
    input: R,
    catalogue: &'a Catalogue,
    defaults: SheetDefaults<'a>,
    codes: &'a mut CodeMaker<'k>,
}

impl<R: Read + Send> Sheet<'_, '_, R> {
    /// Reads, checks and hashes the sheet on a second thread while this one hands its
    /// contacts to `write`: parsing and hashing cost about as much as SQLite's writing,
    /// so on two cores a big import takes the time of the slower, not of both. Returns
    /// the totals, the keyed digest and the warnings, or the first failure: every
    /// problem of the sheet, or the writer's error.
    fn read_beside(
        self,
        mut tally: Tally<'_>,
        mut write: impl FnMut(&Contact) -> Result<()>,
    ) -> Result<(BatchTotals, [u8; 32], Warnings)> {
        let Sheet {
            input,
            catalogue,
            defaults,
            codes,
        } = self;
        std::thread::scope(|scope| {
            // A few chunks in flight at most: memory stays flat whichever side is slower.
            let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<Contact>>(4);
            let reader = scope.spawn(move || {
                let mut chunk = Vec::with_capacity(CHUNK);
                let read = read_sheet(input, catalogue, defaults, codes, |contact| {
                    tally.add(contact);
                    chunk.push(contact.clone());
                    if chunk.len() == CHUNK {
                        let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                        sender.send(full).map_err(|_| WriterStopped)?;
                    }
                    Ok(())
                });
                if read.is_ok() && !chunk.is_empty() {
                    // A failed send means the writer failed; its error is the one reported.
                    let _ = sender.send(chunk);
                }
                read.map(|read| {
                    let (totals, digest) = tally.finish();
                    (totals, digest, read.warnings)
                })
            });
            let mut written = Ok(());
            'chunks: for chunk in &receiver {
                for contact in &chunk {
                    written = write(contact);
                    if written.is_err() {
                        break 'chunks;
                    }
                }
            }
            // Hang up, so a reader blocked on a full channel stops at its next send.
            drop(receiver);
            let read = match reader.join() {
                Ok(read) => read,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            written?;
            read.map_err(|error| match error {
                SheetError::Problems(problems) => Error::ImportRejected(problems),
                SheetError::Sink(WriterStopped) => {
                    unreachable!("the writer only stops on an error, returned above")
                }
            })
        })
    }
}

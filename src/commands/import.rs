//! `kitlog import`: a shift sheet in, one batch saved, or nothing at all.

use std::io::{BufReader, Read, Write};

use zeroize::Zeroizing;

use super::{Context, output};
use crate::catalogue::{Catalogue, normalise_name};
use crate::cli::ImportArgs;
use crate::code::CodeMaker;
use crate::contact::{BatchHeader, BatchSource, BatchTally, BatchTotals, Contact, WorkerLabel};
use crate::error::{Error, Result};
use crate::import::{SheetDefaults, SheetError, append_canonical, read_sheet};
use crate::keys::SheetDigester;
use crate::unlock::Program;

/// Checks everything it can before asking for the passphrase, then reads the sheet and
/// writes it as it goes, in one transaction that only a sheet without problems commits.
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
    if args.file.is_dir() {
        return Err(Error::File {
            action: "read",
            path: args.file.clone(),
            reason: "it is a folder".to_owned(),
        });
    }
    let file = std::fs::File::open(&args.file).map_err(|e| Error::file("read", &args.file, &e))?;

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

    let mut codes = CodeMaker::new(&key, settings.calendar, settings.code_format.clone())
        .with_carried(store.carried_epoch_keys()?);
    let defaults = SheetDefaults {
        site,
        date: args.date,
        today: context.today,
    };
    let input = BufReader::with_capacity(1 << 16, file);
    // Each contact is added up and digested as it is read, so the sheet is never held
    // whole: memory stays flat however long the sheet is.
    let tally = Tally {
        totals: BatchTally::new(&catalogue),
        digest: key.sheet_digester(),
        canonical: Zeroizing::new(Vec::with_capacity(128)),
    };

    if args.dry_run {
        let sheet = Sheet {
            input,
            catalogue: &catalogue,
            defaults,
            codes: &mut codes,
        };
        let totals = dry_run(&store, sheet, tally, settings.calendar)?;
        return output(writeln!(
            out,
            "dry run: the sheet is fine; it would save {totals}\nnothing was saved"
        ));
    }
    // Contacts are written as they are read, inside one transaction that is rolled back
    // on the first error: the sheet is still saved whole or not at all.
    let header = BatchHeader {
        source: BatchSource::Import,
        worker,
        saved_on: context.today,
    };
    let (batch, totals) = store.save_batch_with(&header, |writer| {
        let sheet = Sheet {
            input,
            catalogue: &catalogue,
            defaults,
            codes: &mut codes,
        };
        let (totals, digest) = sheet.read_beside(tally, |contact| writer.add(contact))?;
        writer.set_sheet_digest(digest);
        Ok(totals)
    })?;
    let path = args.file.display();
    output(writeln!(
        out,
        "saved batch {batch}: {totals}\n\
         note: {path} still holds raw participant codes; delete it now that it is saved\n\
         \x20 (Linux: shred -u {path}; elsewhere delete it and empty the trash)"
    ))
}

/// Every check the import makes, in its order, writing nothing: the sheet, then a
/// duplicate, then a closed year (a dry run once passed a sheet the import refused).
fn dry_run<R: Read + Send>(
    store: &crate::store::Store,
    sheet: Sheet<'_, '_, R>,
    tally: Tally<'_>,
    calendar: crate::fiscal::FiscalCalendar,
) -> Result<BatchTotals> {
    let closed = store.closed_years()?;
    let mut first_closed = None;
    let (totals, digest) = sheet.read_beside(tally, |contact| {
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
    Ok(totals)
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
    /// the totals and the keyed digest, or the first failure: every problem of the
    /// sheet, or the writer's error.
    fn read_beside(
        self,
        mut tally: Tally<'_>,
        mut write: impl FnMut(&Contact) -> Result<()>,
    ) -> Result<(BatchTotals, [u8; 32])> {
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
                read.map(|_| tally.finish())
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

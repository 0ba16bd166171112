//! `kitlog import`: a shift sheet in, one batch saved, or nothing at all.

use std::io::{BufReader, Write};

use zeroize::Zeroizing;

use super::{Context, output};
use crate::catalogue::normalise_name;
use crate::cli::ImportArgs;
use crate::code::CodeMaker;
use crate::contact::{
    BatchHeader, BatchSource, BatchTally, BatchTotals, ContactDraft, WorkerLabel,
};
use crate::error::{Error, Result};
use crate::import::{SheetDefaults, SheetError, append_canonical, read_sheet};
use crate::keys::{ProgramKey, SheetDigester};
use crate::store::Store;

/// Checks everything it can before asking for the passphrase, then reads the sheet and
/// writes it as it goes, in one transaction that only a sheet without problems commits.
pub(super) fn run(args: &ImportArgs, context: &Context, out: &mut impl Write) -> Result<()> {
    let mut store = Store::open(&context.db)?;
    let settings = store.settings()?;
    let catalogue = store.catalogue()?;
    let site = match &args.site {
        Some(name) => {
            let name = normalise_name("site", name)?;
            Some(
                catalogue
                    .site(&name)
                    .ok_or(Error::NotInCatalogue { kind: "site", name })?,
            )
        }
        None => None,
    };
    if let Some(date) = args.date {
        if date > context.today {
            return Err(Error::InvalidSetting(format!(
                "--date {date} is in the future (today is {})",
                context.today
            )));
        }
    }
    let worker = args.worker.as_deref().map(WorkerLabel::parse).transpose()?;
    let file = std::fs::File::open(&args.file).map_err(|e| Error::file("read", &args.file, &e))?;

    let key = {
        let passphrase = context.passphrase.read()?;
        ProgramKey::unlock(&passphrase, &store.key_slots()?, &settings.key_check)?
    };
    let mut codes = CodeMaker::new(&key, settings.calendar, settings.code_format.clone());
    let defaults = SheetDefaults {
        site,
        date: args.date,
        today: context.today,
    };
    let input = BufReader::with_capacity(1 << 16, file);
    // Each contact is added up and digested as it is read, so the sheet is never held
    // whole: memory stays flat however long the sheet is.
    let mut tally = Tally {
        totals: BatchTally::new(&catalogue),
        digest: key.sheet_digester(),
        canonical: Zeroizing::new(Vec::with_capacity(128)),
    };

    if args.dry_run {
        read_sheet(input, &catalogue, defaults, &mut codes, |contact| {
            tally.add(contact);
            Ok::<(), Error>(())
        })
        .map_err(rejected)?;
        let (totals, digest) = tally.finish();
        if let Some(existing) = store.find_import(&digest)? {
            return Err(Error::AlreadyImported(existing));
        }
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
        read_sheet(input, &catalogue, defaults, &mut codes, |contact| {
            tally.add(contact);
            writer.add(contact)
        })
        .map_err(rejected)?;
        let (totals, digest) = tally.finish();
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

/// What is added up over a sheet's contacts as they stream past.
struct Tally<'c> {
    totals: BatchTally<'c>,
    digest: SheetDigester,
    /// One contact's canonical bytes, reused for every contact; wiped when dropped, as
    /// it holds codes.
    canonical: Zeroizing<Vec<u8>>,
}

impl Tally<'_> {
    fn add(&mut self, contact: &ContactDraft) {
        self.totals.add(contact);
        self.canonical.clear();
        append_canonical(contact, &mut self.canonical);
        self.digest.update(&self.canonical);
    }

    fn finish(self) -> (BatchTotals, [u8; 32]) {
        (self.totals.finish(), self.digest.finish())
    }
}

fn rejected(error: SheetError<Error>) -> Error {
    match error {
        SheetError::Problems(problems) => Error::ImportRejected(problems),
        SheetError::Sink(error) => error,
    }
}

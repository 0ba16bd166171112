//! `kitlog import`: a shift sheet in, one batch saved, or nothing at all.

use std::io::{BufReader, Write};

use super::{Context, output};
use crate::catalogue::normalise_name;
use crate::cli::ImportArgs;
use crate::code::CodeMaker;
use crate::contact::{BatchSource, BatchTotals, NewBatch, WorkerLabel};
use crate::error::{Error, Result};
use crate::import::{SheetDefaults, read_sheet};
use crate::keys::ProgramKey;
use crate::store::Store;

/// Checks everything it can before asking for the passphrase, then reads the whole
/// sheet, and only then writes, in one transaction.
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
    if args.file.is_dir() {
        return Err(Error::File {
            action: "read",
            path: args.file.clone(),
            reason: "it is a folder".to_owned(),
        });
    }
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
    let sheet = read_sheet(BufReader::new(file), &catalogue, defaults, &mut codes)
        .map_err(Error::ImportRejected)?;
    let digest = key.sheet_digest(&sheet.canonical_content());
    let totals = BatchTotals::of(&sheet.contacts, &catalogue);

    if args.dry_run {
        if let Some(existing) = store.find_import(&digest)? {
            return Err(Error::AlreadyImported(existing));
        }
        return output(writeln!(
            out,
            "dry run: the sheet is fine; it would save {totals}\nnothing was saved"
        ));
    }
    let batch = store.save_batch(&NewBatch {
        source: BatchSource::Import,
        worker,
        saved_on: context.today,
        sheet_digest: Some(digest),
        contacts: sheet.contacts,
    })?;
    let path = args.file.display();
    output(writeln!(
        out,
        "saved batch {batch}: {totals}\n\
         note: {path} still holds raw participant codes; delete it now that it is saved\n\
         \x20 (Linux: shred -u {path}; elsewhere delete it and empty the trash)"
    ))
}

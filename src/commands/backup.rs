//! `kitlog backup FILE` and `kitlog check`: a consistent copy of the program, and
//! the check that a file (the program, or a backup before restoring it) is sound.

use std::io::Write;

use super::{Context, output};
use crate::cli::BackupArgs;
use crate::error::Result;
use crate::keyfile::{key_file_path, write_key_file};
use crate::text::Count;

/// Copies the program to a new file (encrypted under the same key) and its key file
/// beside it: the two together open with the passphrases the program has today.
pub(super) fn run_backup(args: &BackupArgs, context: &Context, out: &mut impl Write) -> Result<()> {
    let program = context.unlock()?;
    program
        .store
        .backup_to(&args.file, &program.key.database_key())?;
    if let Err(error) = write_key_file(&args.file, &program.slots, true) {
        let _ = std::fs::remove_file(&args.file);
        return Err(error);
    }
    output(writeln!(
        out,
        "backed up {} to {} and its key file to {}\n\
         \x20 to restore it, copy both over the program's files while no kitlog is running\n\
         \x20 it opens with the passphrases the program has today, even after they are changed or removed",
        context.db.display(),
        args.file.display(),
        key_file_path(&args.file).display(),
    ))
}

/// SQLite's checks and kitlog's rules; one line on success.
pub(super) fn run_check(context: &Context, out: &mut impl Write) -> Result<()> {
    let mut program = context.unlock()?;
    let summary = program.store.check()?;
    output(writeln!(
        out,
        "ok: the file is intact and keeps all {} rules of kitlog (schema {}); {}, {}, {}",
        summary.rules,
        summary.schema_version,
        Count::of(summary.batches, "batch"),
        Count::of(summary.contacts, "contact"),
        Count::of(program.slots.len(), "passphrase"),
    ))
}

//! `kitlog backup FILE` and `kitlog check`: a consistent copy of the program, and
//! the check that a file (the program, or a backup before restoring it) is sound.

use std::io::Write;

use super::{Context, output};
use crate::cli::BackupArgs;
use crate::error::Result;
use crate::store::Store;
use crate::text::Count;

/// Copies the program to a new file; needs no passphrase (the copy stays sealed).
pub(super) fn run_backup(args: &BackupArgs, context: &Context, out: &mut impl Write) -> Result<()> {
    let store = Store::open(&context.db)?;
    store.backup_to(&args.file)?;
    output(writeln!(
        out,
        "backed up {} to {}\n\
         \x20 to restore it, copy it over the program file while no kitlog is running\n\
         \x20 it opens with the passphrases the program has today, even after they are changed or removed",
        context.db.display(),
        args.file.display(),
    ))
}

/// SQLite's checks and kitlog's rules; one line on success.
pub(super) fn run_check(context: &Context, out: &mut impl Write) -> Result<()> {
    let mut store = Store::open(&context.db)?;
    let summary = store.check()?;
    output(writeln!(
        out,
        "ok: the file is intact and keeps all {} rules of kitlog (schema {}); {}, {}, {}",
        summary.rules,
        summary.schema_version,
        Count::of(summary.batches, "batch"),
        Count::of(summary.contacts, "contact"),
        Count::of(summary.key_slots, "passphrase"),
    ))
}

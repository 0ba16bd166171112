//! What the benchmark examples share: their synthetic sheet, a clean `kitlog`
//! command for one synthetic program, and the key file beside a program.

use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The passphrase of every synthetic benchmark program.
pub(crate) const PASSPHRASE: &str = "synthetic benchmark program, never use it for real";

/// The key file beside a program.
pub(crate) fn keys_of(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".keys");
    PathBuf::from(name)
}

/// `kitlog` with a clean environment: this program, this passphrase, nothing else.
pub(crate) fn kitlog_command(kitlog: &Path, db: &Path) -> Command {
    let mut command = Command::new(kitlog);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("KITLOG_") {
            command.env_remove(name);
        }
    }
    command
        .env("KITLOG_DB", db)
        .env("KITLOG_PASSPHRASE", PASSPHRASE)
        .stdin(Stdio::null());
    command
}

/// Writes the benchmarks' synthetic sheet of `contacts` contacts (two years of days
/// ending 2026-10-31, seed 1) to `path`, synced to disk.
pub(crate) fn write_sheet(path: &Path, contacts: u64) -> Result<(), Box<dyn std::error::Error>> {
    let plan = crate::synth::Plan {
        contacts,
        end: "2026-10-31".parse()?,
        days: 730,
        seed: 1,
    };
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    crate::synth::write_sheet(&plan, &mut out)?;
    out.into_inner()
        .map_err(std::io::IntoInnerError::into_error)?
        .sync_all()?;
    Ok(())
}

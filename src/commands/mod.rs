//! One file per subcommand: glue between what was typed and the domain.
//!
//! Each `run` converts its clap arguments into domain values first, then calls
//! the store and the pure modules, then prints. The single dispatch `match` is
//! here; nothing below it reads the clock or the environment.

use std::io::Write;
use std::path::PathBuf;

use chrono::NaiveDate;

use crate::cli::Command;
use crate::error::{Error, Result};
use crate::passphrase::PassphraseSource;
use crate::unlock::{Program, open_program};

mod backup;
mod batches;
mod catalogue;
mod close_year;
mod codes;
mod device;
mod fill;
mod import;
mod init;
mod month;
mod passphrase;
mod privacy;
mod releases;
mod report;
mod shift;
mod summary;
mod summary_page;
mod sync;
mod void;

/// What every command may depend on, gathered once in `cli::run`.
#[derive(Debug)]
pub struct Context {
    /// The program database.
    pub db: PathBuf,
    /// Today's date, from the local clock; passed down so tests can fix it.
    pub today: NaiveDate,
    /// Where a passphrase can come from.
    pub passphrase: PassphraseSource,
    /// Colour is allowed: standard output is a terminal and `NO_COLOR` is not set.
    pub color: bool,
}

impl Context {
    /// Opens the program, asking for the passphrase once the files are there: every
    /// command needs it, because the file is encrypted. Says so on stderr when an
    /// earlier kitlog's unencrypted file was converted on the way.
    pub fn unlock(&self) -> Result<Program> {
        let program = open_program(&self.db, || self.passphrase.read())?;
        if program.converted {
            eprintln!(
                "note: {} was unencrypted (made by an earlier kitlog) and is now encrypted; its passphrases are kept in {} beside it, so back up both",
                self.db.display(),
                crate::keyfile::key_file_path(&self.db).display()
            );
        }
        Ok(program)
    }
}

/// Refuses on a worker's laptop what only the coordinator may do: it holds only what
/// the coordinator has not acknowledged, and releases are the coordinator's.
fn coordinator_only(store: &crate::store::Store, what: &'static str) -> Result<()> {
    match store.this_device()? {
        Some(me) if me.role == crate::sync::Role::Worker => Err(Error::CoordinatorOnly(what)),
        _ => Ok(()),
    }
}

impl Command {
    /// Runs the command, printing to `out`.
    pub fn run(self, context: &Context, out: &mut impl Write) -> Result<()> {
        match self {
            Command::Init(args) => init::run(&args, context, out),
            Command::Site(command) => catalogue::run_site(command, context, out),
            Command::Item(command) => catalogue::run_item(command, context, out),
            Command::Worker(command) => catalogue::run_worker(command, context, out),
            Command::Import(args) => import::run(&args, context, out),
            Command::Batches(args) => batches::run(&args, context, out),
            Command::Void(args) => void::run(&args, context, out),
            Command::Month(args) => month::run(&args, context, out),
            Command::Report(args) => report::run(&args, context, out),
            Command::Fill(args) => fill::run_fill(&args, context, out),
            Command::Template(command) => fill::run_template(command, context, out),
            Command::Summary(args) => summary::run(&args, context, out),
            Command::Releases(args) => releases::run(&args, context, out),
            Command::Shift(args) => shift::run(&args, context, out),
            Command::CloseYear(args) => close_year::run(&args, context, out),
            Command::Passphrase(command) => passphrase::run(command, context, out),
            Command::Backup(args) => backup::run_backup(&args, context, out),
            Command::Device(command) => device::run(command, context, out),
            Command::Send(args) => sync::send(&args.dir, context, out),
            Command::Receive(args) => sync::receive(&args.dir, context, out),
            Command::Sync(args) => sync::sync(&args.target, context, out),
            Command::Check => backup::run_check(context, out),
            Command::Privacy => privacy::run(context, out),
            Command::Codes(command) => codes::run(&command, out),
            Command::Completions { shell } => {
                let mut command = <crate::cli::Cli as clap::CommandFactory>::command();
                // Into memory first: clap_complete panics on a failed write (a closed pipe).
                let mut script = Vec::new();
                clap_complete::generate(shell, &mut command, "kitlog", &mut script);
                output(out.write_all(&script))
            }
            Command::Man => {
                let command = <crate::cli::Cli as clap::CommandFactory>::command();
                output(clap_mangen::Man::new(command).render(out))
            }
        }
    }
}

/// Maps a failed write to stdout to the error `cli::run` understands.
pub(crate) fn output(result: std::io::Result<()>) -> Result<()> {
    result.map_err(|e| Error::Output(e.kind()))
}

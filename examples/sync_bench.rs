//! `cargo build --release && cargo run --release --example sync_bench [-- --contacts N]`
//!
//! Measures carrying a worker laptop's contacts to the coordinator with the real
//! `kitlog` binary: a coordinator and one enrolled laptop, the laptop imports one
//! synthetic sheet (100,000 contacts by default), then
//!
//! - `kitlog send DIR` on the laptop (every contact not yet acknowledged, sealed and
//!   signed into one bundle);
//! - `kitlog receive DIR` on a fresh copy of the coordinator (unseal, check, merge);
//! - against, in the same run: `kitlog batches` (opening the program: the passphrase
//!   stretching every command pays) and `kitlog import` of the same sheet into a fresh
//!   program (the other way the same contacts reach a program).
//!
//! Times are the best of `--runs`. Nothing here is a test; the figures are in the
//! README ("Several laptops": speed).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;

#[path = "support/synth.rs"]
mod synth;

#[path = "support/program.rs"]
mod program;

use program::{PASSPHRASE, keys_of, kitlog_command};

/// Benchmark send and receive.
#[derive(Debug, Parser)]
struct Args {
    /// Contacts on the laptop.
    #[arg(long, default_value_t = 100_000)]
    contacts: u64,
    /// Runs per measurement; the best is kept.
    #[arg(long, default_value_t = 3)]
    runs: u32,
}

type Failure = Box<dyn std::error::Error>;

fn main() -> Result<(), Failure> {
    let args = Args::parse();
    let kitlog = kitlog_binary()?;
    let dir = tempfile::tempdir()?;
    let sheet = dir.path().join("sheet.csv");
    eprintln!("writing a sheet of {} contacts", args.contacts);
    program::write_sheet(&sheet, args.contacts)?;

    let coordinator = dir.path().join("coordinator.db");
    let laptop = dir.path().join("laptop.db");
    enrolled_laptop(&kitlog, &coordinator, &laptop, &sheet)?;

    let folder = dir.path().join("folder");
    std::fs::create_dir(&folder)?;
    let keep = dir.path().join("keep.db");
    std::fs::copy(&coordinator, &keep)?;
    std::fs::copy(keys_of(&coordinator), keys_of(&keep))?;
    let (mut send, mut receive, mut unlock, mut import) =
        (Duration::MAX, Duration::MAX, Duration::MAX, Duration::MAX);
    for round in 1..=args.runs.max(1) {
        eprintln!("round {round} of {}", args.runs);
        send = send.min(timed(
            kitlog_command(&kitlog, &laptop).arg("send").arg(&folder),
        )?);
        std::fs::copy(&keep, &coordinator)?;
        std::fs::copy(keys_of(&keep), keys_of(&coordinator))?;
        receive = receive.min(timed(
            kitlog_command(&kitlog, &coordinator)
                .arg("receive")
                .arg(&folder),
        )?);
        unlock = unlock.min(timed(kitlog_command(&kitlog, &laptop).arg("batches"))?);
        let fresh = dir.path().join(format!("fresh{round}.db"));
        new_program(&kitlog, &fresh)?;
        import = import.min(timed(
            kitlog_command(&kitlog, &fresh)
                .args(["import", "--yes"])
                .arg(&sheet),
        )?);
    }
    let bundle = std::fs::read_dir(&folder)?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "klb"))
        .ok_or("no bundle written")?;
    let merged = run(kitlog_command(&kitlog, &coordinator).arg("batches"))?;
    println!(
        "| contacts | bundle | send | receive (merge) | open the program (`batches`) | import of the same sheet | receive / import |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    println!(
        "| {} | {:.1} MB | {:.2} s | {:.2} s | {:.2} s | {:.2} s | {:.2}x |",
        args.contacts,
        megabytes(&bundle),
        send.as_secs_f64(),
        receive.as_secs_f64(),
        unlock.as_secs_f64(),
        import.as_secs_f64(),
        receive.as_secs_f64() / import.as_secs_f64()
    );
    eprintln!(
        "coordinator after the merge:\n{}",
        merged.lines().take(3).collect::<Vec<_>>().join("\n")
    );
    Ok(())
}

/// A coordinator and one laptop enrolled from it, which has imported `sheet`.
fn enrolled_laptop(
    kitlog: &Path,
    coordinator: &Path,
    laptop: &Path,
    sheet: &Path,
) -> Result<(), Failure> {
    new_program(kitlog, coordinator)?;
    let enrolment = coordinator.with_extension("kle");
    let shown = run(kitlog_command(kitlog, coordinator)
        .args(["device", "add", "van-1", "--out"])
        .arg(&enrolment))?;
    let one_time = shown
        .lines()
        .map(str::trim)
        .find(|line| line.len() == 23 && line.matches('-').count() == 3)
        .ok_or("no one-time passphrase shown")?
        .to_owned();
    run(kitlog_command(kitlog, laptop)
        .env("KITLOG_PASSPHRASE", one_time)
        .env("KITLOG_NEW_PASSPHRASE", PASSPHRASE)
        .args(["device", "join"])
        .arg(&enrolment))?;
    eprintln!("importing the sheet on the laptop");
    run(kitlog_command(kitlog, laptop)
        .args(["import", "--yes"])
        .arg(sheet))?;
    Ok(())
}

/// `kitlog` beside this example's own `target/<profile>/examples/` folder.
fn kitlog_binary() -> Result<PathBuf, Failure> {
    let beside = std::env::current_exe()?
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("kitlog"))
        .filter(|path| path.is_file());
    beside.ok_or_else(|| "no kitlog binary; run `cargo build --release` first".into())
}

/// A fresh program with the synthetic sites.
fn new_program(kitlog: &Path, db: &Path) -> Result<(), Failure> {
    run(kitlog_command(kitlog, db).arg("init"))?;
    for (name, _) in synth::SITES {
        run(kitlog_command(kitlog, db).args(["site", "add", name]))?;
    }
    Ok(())
}

/// Runs `command`; its stdout, or its stderr as the error.
fn run(command: &mut Command) -> Result<String, Failure> {
    let out = command.output()?;
    if !out.status.success() {
        return Err(format!("{command:?}: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(String::from_utf8(out.stdout)?)
}

fn timed(command: &mut Command) -> Result<Duration, Failure> {
    let start = Instant::now();
    run(command.stderr(Stdio::piped()))?;
    Ok(start.elapsed())
}

#[expect(
    clippy::cast_precision_loss,
    reason = "file sizes far below 2^52 bytes"
)]
fn megabytes(path: &Path) -> f64 {
    std::fs::metadata(path).map_or(0.0, |m| m.len() as f64 / 1_000_000.0)
}

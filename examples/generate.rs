//! `cargo run --release --example generate -- --contacts 500000 --out sheet.csv`
//!
//! Writes a synthetic shift sheet in kitlog's import format: realistic in shape (busy
//! and quiet sites, regulars and occasional visitors, anonymous contacts, naloxone
//! reasons, weekends), clearly fake in content (every code is `SYN` plus six letters
//! and digits). Import it into a program that has the sites the generator lists on
//! standard error; the items are those of kitlog's default catalogue.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use chrono::NaiveDate;
use clap::Parser;

#[path = "support/synth.rs"]
mod synth;

/// Write a synthetic shift sheet for benchmarks and demos.
#[derive(Debug, Parser)]
struct Args {
    /// Contacts (rows) to write.
    #[arg(long, default_value_t = 50_000)]
    contacts: u64,
    /// The sheet to write; `-` for standard output.
    #[arg(long, default_value = "-")]
    out: PathBuf,
    /// The last day of data; every row is on or before it.
    #[arg(long, default_value = "2026-10-31")]
    end: NaiveDate,
    /// How many days back from --end the data spreads (730 = two years).
    #[arg(long, default_value_t = 730, value_parser = clap::value_parser!(u32).range(1..=36_500))]
    days: u32,
    /// Seed: the same arguments always give the same sheet.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let plan = synth::Plan {
        contacts: args.contacts,
        end: args.end,
        days: args.days,
        seed: args.seed,
    };
    if args.out.as_os_str() == "-" {
        let stdout = std::io::stdout();
        let mut out = BufWriter::new(stdout.lock());
        synth::write_sheet(&plan, &mut out)?;
        out.flush()?;
    } else {
        let mut out = BufWriter::new(std::fs::File::create(&args.out)?);
        synth::write_sheet(&plan, &mut out)?;
        out.flush()?;
    }
    let sites: Vec<&str> = synth::SITES.iter().map(|(name, _)| *name).collect();
    eprintln!(
        "wrote {} contacts ({} synthetic participants) from {} to {}; sites: {}",
        plan.contacts,
        plan.participants(),
        plan.end - chrono::Duration::days(i64::from(plan.days) - 1),
        plan.end,
        sites.join(" ")
    );
    Ok(())
}

//! `cargo run --release --example demo`: the whole job on the bundled example data.
//!
//! Creates a throwaway program in a temp folder, adds the example sites, imports
//! every shift sheet in `examples/shifts/`, lists the batches and prints a monthly
//! report by site and category. It drives the library exactly as the `kitlog` binary
//! does, with a demo passphrase given the way scripts give one, on a fixed day after
//! the sheets' fiscal year (2027-04-15), as a coordinator reporting the year would:
//! a report leaves out periods not over yet, so the output does not depend on the day.

use std::io::Write;
use std::path::Path;

use clap::Parser;
use kitlog::cli::Cli;
use kitlog::commands::Context;
use kitlog::passphrase::PassphraseSource;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    // Run from the package root so the sheets show as examples/shifts/… in the output.
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR"))?;
    let mut sheets: Vec<_> = std::fs::read_dir(Path::new("examples/shifts"))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    sheets.sort();

    let context = Context {
        db: dir.path().join("demo.db"),
        today: chrono::NaiveDate::from_ymd_opt(2027, 4, 15).expect("a real day"),
        passphrase: PassphraseSource {
            terminal: false,
            file: None,
            value: Some("demo passphrase, never use it for real".to_owned().into()),
            new_value: None,
        },
        color: false,
    };
    let mut steps: Vec<Vec<String>> = vec![
        vec!["init".into()],
        vec!["site".into(), "add".into(), "downtown-van".into()],
        vec!["site".into(), "add".into(), "east-drop-in".into()],
        vec!["site".into(), "add".into(), "north-route".into()],
    ];
    for sheet in &sheets {
        steps.push(vec!["import".into(), sheet.display().to_string()]);
    }
    steps.push(vec!["batches".into()]);
    steps.push(
        ["report", "--period", "month", "--by", "site,category"]
            .map(String::from)
            .to_vec(),
    );

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for step in steps {
        writeln!(out, "\n$ kitlog {}", step.join(" "))?;
        let cli = Cli::try_parse_from(std::iter::once("kitlog".to_owned()).chain(step))?;
        cli.command.run(&context, &mut out)?;
    }
    writeln!(
        out,
        "\n(The demo program was in a temp folder and is gone now. Cells shown as x are hidden\n\
         because they summarise fewer than 5 contacts or participants, or would reveal one that does.)"
    )?;
    Ok(())
}

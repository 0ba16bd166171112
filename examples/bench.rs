//! `cargo build --release && cargo run --release --example bench [-- --full]`
//!
//! Measures the real `kitlog` binary against the machine's own `sqlite3` shell, in one
//! run, on synthetic programs of 50,000 and 500,000 contacts (and 5,000,000 with
//! `--full`):
//!
//! - import of one sheet, against `sqlite3`'s `.import` of the same CSV into a bare
//!   table (the cost of just parsing and storing it);
//! - `report --period month --by site,item`, against the equivalent `GROUP BY` over
//!   that bare table (cells, `ALL` totals, distinct codes);
//! - peak memory (`VmHWM`) of each, polled from `/proc/<pid>/status`.
//!
//! Times are the best of `--runs` (1 above a million contacts). Nothing here is a
//! test: figures depend on the machine, and are recorded in the README.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;

#[path = "support/synth.rs"]
mod synth;

#[path = "support/program.rs"]
mod program;

use program::{keys_of, kitlog_command};

/// Benchmark kitlog against raw SQLite.
#[derive(Debug, Parser)]
struct Args {
    /// Program sizes, in contacts.
    #[arg(long, value_delimiter = ',', default_values_t = [50_000u64, 500_000])]
    sizes: Vec<u64>,
    /// Also measure 5,000,000 contacts (a few minutes).
    #[arg(long)]
    full: bool,
    /// Runs per measurement; the best is kept (one run above a million contacts).
    #[arg(long, default_value_t = 3)]
    runs: u32,
}

/// One command's wall time and peak resident memory.
#[derive(Debug, Clone, Copy)]
struct Run {
    time: Duration,
    peak_kb: u64,
}

/// Figures of one program size.
#[derive(Debug)]
struct Figures {
    contacts: u64,
    codes: u64,
    sheet_mb: f64,
    import: Run,
    sqlite_import: Run,
    report: Run,
    sqlite_report: Run,
    unlock: Run,
    db_mb: f64,
    bare_mb: f64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let kitlog = kitlog_binary()?;
    check_sqlite3()?;
    let mut sizes = args.sizes.clone();
    if args.full && !sizes.contains(&5_000_000) {
        sizes.push(5_000_000);
    }
    eprintln!("kitlog: {}", kitlog.display());
    let mut all = Vec::new();
    for contacts in sizes {
        let runs = if contacts > 1_000_000 {
            1
        } else {
            args.runs.max(1)
        };
        all.push(measure(&kitlog, contacts, runs)?);
    }
    print!("{}", table(&all));
    println!("\n{}", machine());
    Ok(())
}

/// `kitlog` beside this example's own `target/<profile>/examples/` folder.
fn kitlog_binary() -> Result<PathBuf, String> {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("kitlog")));
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
        PathBuf::from,
    );
    let candidates = [beside, Some(target.join("release/kitlog"))];
    let found = candidates.into_iter().flatten().find(|path| path.is_file());
    let Some(path) = found else {
        return Err("no kitlog binary; run `cargo build --release` first".into());
    };
    if path.components().any(|c| c.as_os_str() == "debug") {
        eprintln!(
            "warning: {} is a debug build; figures mean little",
            path.display()
        );
    }
    // A stale binary would measure old code: compare with the newest source file.
    let built = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
    let newest_source = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.metadata().and_then(|m| m.modified()).ok())
        .max();
    if let (Some(built), Some(source)) = (built, newest_source) {
        if source > built {
            eprintln!(
                "warning: src/ is newer than {}; run `cargo build --release`",
                path.display()
            );
        }
    }
    Ok(path)
}

fn check_sqlite3() -> Result<(), String> {
    match Command::new("sqlite3").arg("--version").output() {
        Ok(out) if out.status.success() => Ok(()),
        _ => Err("the sqlite3 shell is needed for the baseline (apt-get install sqlite3)".into()),
    }
}

fn measure(kitlog: &Path, contacts: u64, runs: u32) -> Result<Figures, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let sheet = dir.path().join("sheet.csv");
    eprintln!("{contacts} contacts: writing the sheet");
    program::write_sheet(&sheet, contacts)?;
    let sheet_mb = megabytes(&sheet);

    let db = dir.path().join("program.db");
    let bare = dir.path().join("bare.db");
    let mut import = None;
    let mut sqlite_import = None;
    for run in 1..=runs {
        eprintln!("{contacts} contacts: import, run {run} of {runs}");
        for path in [&db, &keys_of(&db), &bare] {
            let _ = std::fs::remove_file(path);
        }
        new_program(kitlog, &db)?;
        let kitlog_run = timed(
            kitlog_command(kitlog, &db)
                .arg("import")
                .arg("--yes")
                .arg(&sheet),
        )?;
        import = Some(best(import, kitlog_run));
        let sqlite_run = timed(
            Command::new("sqlite3")
                .arg(&bare)
                .arg(".mode csv")
                .arg(format!(".import '{}' contacts", sheet.display())),
        )?;
        sqlite_import = Some(best(sqlite_import, sqlite_run));
    }

    let query = baseline_query();
    let mut report = None;
    let mut sqlite_report = None;
    for run in 1..=runs {
        eprintln!("{contacts} contacts: report, run {run} of {runs}");
        // Each run on a copy made before any report: a report is a release, and a
        // second one of the same months would reprint the first's decisions from the
        // ledger instead of deciding them.
        let fresh = dir.path().join(format!("report-run-{run}.db"));
        std::fs::copy(&db, &fresh)?;
        std::fs::copy(keys_of(&db), keys_of(&fresh))?;
        let kitlog_run = timed(
            kitlog_command(kitlog, &fresh)
                .args(["report", "--period", "month", "--by", "site,item", "--out"])
                .arg(dir.path().join(format!("report-{run}.csv"))),
        )?;
        std::fs::remove_file(&fresh)?;
        std::fs::remove_file(keys_of(&fresh))?;
        report = Some(best(report, kitlog_run));
        let sqlite_run = timed(Command::new("sqlite3").arg("-csv").arg(&bare).arg(&query))?;
        sqlite_report = Some(best(sqlite_report, sqlite_run));
    }
    // Unlocking: a command that reads almost nothing (the site list), so its time is
    // the key file, Argon2id and opening the encrypted file.
    let mut unlock = None;
    for _ in 1..=runs {
        let run = timed(kitlog_command(kitlog, &db).args(["site", "list"]))?;
        unlock = Some(best(unlock, run));
    }
    // The program file is encrypted; the bare table holds the same codes (the
    // synthetic ones are already in normal form), by fiscal year (April start).
    let codes = sqlite_number(
        &bare,
        "SELECT count(*) FROM (SELECT DISTINCT CASE WHEN substr(date, 6, 2) >= '04' \
         THEN substr(date, 1, 4) ELSE substr(date, 1, 4) - 1 END, code FROM contacts WHERE code != '')",
    )?;

    Ok(Figures {
        contacts,
        codes,
        sheet_mb,
        import: import.expect("at least one run"),
        sqlite_import: sqlite_import.expect("at least one run"),
        report: report.expect("at least one run"),
        unlock: unlock.expect("at least one run"),
        sqlite_report: sqlite_report.expect("at least one run"),
        db_mb: megabytes(&db),
        bare_mb: megabytes(&bare),
    })
}

/// A fresh program with the synthetic sites (the default catalogue has the items).
fn new_program(kitlog: &Path, db: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let mut steps = vec![vec!["init"]];
    steps.extend(
        synth::SITES
            .iter()
            .map(|(name, _)| vec!["site", "add", name]),
    );
    for step in steps {
        let out = kitlog_command(kitlog, db).args(&step).output()?;
        if !out.status.success() {
            return Err(format!(
                "kitlog {}: {}",
                step.join(" "),
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
    }
    Ok(())
}

/// Runs `command` to completion, output discarded, polling its peak resident memory.
///
/// `VmHWM` only grows, so the last value read before the process exits is its peak, up
/// to whatever it gained in the final millisecond.
fn timed(command: &mut Command) -> Result<Run, Box<dyn std::error::Error>> {
    let start = Instant::now();
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if let Some(kb) = std::fs::read_to_string(&status_file)
            .ok()
            .and_then(|status| high_water_kb(&status))
        {
            peak_kb = peak_kb.max(kb);
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let time = start.elapsed();
    if !status.success() {
        let mut stderr = String::new();
        if let Some(mut pipe) = child.stderr.take() {
            std::io::Read::read_to_string(&mut pipe, &mut stderr)?;
        }
        return Err(format!("{command:?} failed: {stderr}").into());
    }
    Ok(Run { time, peak_kb })
}

fn high_water_kb(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn best(so_far: Option<Run>, run: Run) -> Run {
    match so_far {
        Some(best) if best.time <= run.time => Run {
            peak_kb: best.peak_kb.max(run.peak_kb),
            ..best
        },
        Some(best) => Run {
            peak_kb: best.peak_kb.max(run.peak_kb),
            ..run
        },
        None => run,
    }
}

/// What `kitlog report --period month --by site,item` computes, minus what raw SQL
/// cannot easily do (new participants, naloxone by reason, suppression): per month,
/// every site × item cell and the `ALL` totals over sites, items and both, each with
/// contacts, distinct codes, quantity, reversals, returned and for-others.
fn baseline_query() -> String {
    let items: Vec<&str> = synth::HEADER.split(',').skip(3).take(8).collect();
    let mut lines = String::new();
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            lines.push_str(" UNION ALL ");
        }
        write!(
            lines,
            "SELECT substr(date, 1, 7) AS period, site, '{item}' AS item, nullif(code, '') AS code, \
             CAST(\"{item}\" AS INTEGER) AS quantity, CAST(reversals AS INTEGER) AS reversals, \
             CAST(returned AS INTEGER) AS returned, CAST(for_others AS INTEGER) AS for_others \
             FROM contacts WHERE \"{item}\" <> ''"
        )
        .expect("writing to a String cannot fail");
    }
    let all_quantity: Vec<String> = items
        .iter()
        .map(|item| format!("CAST(\"{item}\" AS INTEGER)"))
        .collect();
    let sums = "count(*), count(DISTINCT code), sum(quantity), sum(reversals), sum(returned), sum(for_others)";
    format!(
        "WITH lines AS ({lines}), \
         whole AS (SELECT substr(date, 1, 7) AS period, site, nullif(code, '') AS code, \
                          {} AS quantity, CAST(reversals AS INTEGER) AS reversals, \
                          CAST(returned AS INTEGER) AS returned, \
                          CAST(for_others AS INTEGER) AS for_others FROM contacts) \
         SELECT period, site, item, {sums} FROM lines GROUP BY period, site, item \
         UNION ALL SELECT period, 'ALL', item, {sums} FROM lines GROUP BY period, item \
         UNION ALL SELECT period, site, 'ALL', {sums} FROM whole GROUP BY period, site \
         UNION ALL SELECT period, 'ALL', 'ALL', {sums} FROM whole GROUP BY period;",
        all_quantity.join(" + ")
    )
}

fn sqlite_number(db: &Path, query: &str) -> Result<u64, Box<dyn std::error::Error>> {
    let out = Command::new("sqlite3")
        .arg("-readonly")
        .arg(db)
        .arg(query)
        .output()?;
    Ok(String::from_utf8(out.stdout)?.trim().parse()?)
}

#[allow(clippy::cast_precision_loss)]
fn megabytes(path: &Path) -> f64 {
    std::fs::metadata(path).map_or(0.0, |m| m.len() as f64 / 1e6)
}

#[allow(clippy::cast_precision_loss)]
fn table(all: &[Figures]) -> String {
    let seconds = |run: Run| run.time.as_secs_f64();
    let mb = |run: Run| run.peak_kb as f64 / 1024.0;
    let mut out = String::from(
        "| contacts | distinct codes | sheet MB | kitlog import | sqlite3 .import | ratio (goal ≤ 2.5) \
         | import peak memory | sqlite3 peak | kitlog report | sqlite3 GROUP BY | ratio (goal ≤ 1) \
         | report peak memory | program file | bare table file | unlock |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for f in all {
        writeln!(
            out,
            "| {} | {} | {:.0} | {:.2} s | {:.2} s | {:.2} | {:.0} MB | {:.0} MB | {:.2} s | {:.2} s | {:.2} | {:.0} MB | {:.0} MB | {:.0} MB | {:.2} s |",
            f.contacts,
            f.codes,
            f.sheet_mb,
            seconds(f.import),
            seconds(f.sqlite_import),
            seconds(f.import) / seconds(f.sqlite_import),
            mb(f.import),
            mb(f.sqlite_import),
            seconds(f.report),
            seconds(f.sqlite_report),
            seconds(f.report) / seconds(f.sqlite_report),
            mb(f.report),
            f.db_mb,
            f.bare_mb,
            seconds(f.unlock),
        )
        .expect("writing to a String cannot fail");
    }
    if !all.is_empty() {
        out.push_str(
            "\nGrowth, per 1,000 contacts (flat = linear):\n\n\
             | contacts | kitlog import | sqlite3 .import | kitlog report | sqlite3 GROUP BY |\n\
             |---:|---:|---:|---:|---:|\n",
        );
        for f in all {
            let per_thousand = |run: Run| seconds(run) * 1e6 / f.contacts as f64;
            writeln!(
                out,
                "| {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms |",
                f.contacts,
                per_thousand(f.import),
                per_thousand(f.sqlite_import),
                per_thousand(f.report),
                per_thousand(f.sqlite_report),
            )
            .expect("writing to a String cannot fail");
        }
    }
    out
}

/// The machine the figures were measured on.
#[allow(clippy::cast_precision_loss)]
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, name)| name.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| info.lines().next().and_then(mem_total_kb))
        .map_or_else(
            || "unknown memory".to_owned(),
            |kb| format!("{:.1} GB memory", kb as f64 / 1024.0 / 1024.0),
        );
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let sqlite3 = Command::new("sqlite3")
        .arg("--version")
        .output()
        .ok()
        .map(|out| {
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_owned()
        })
        .unwrap_or_default();
    format!(
        "Machine: {cores} cores ({cpu}), {memory}; sqlite3 shell {sqlite3}, kitlog's bundled SQLite {}.",
        rusqlite::version()
    )
}

fn mem_total_kb(line: &str) -> Option<u64> {
    line.strip_prefix("MemTotal:")?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

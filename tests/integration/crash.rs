//! A crash loses nothing and corrupts nothing: `kitlog import` and `kitlog shift`
//! killed with SIGKILL at many moments (`Child::kill` sends SIGKILL on Unix) leave the
//! program exactly as it was before or exactly as it is after, passing `kitlog check`,
//! and running the same command again lands its contacts exactly once.

use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::harness::Kitlog;

/// A generated shift sheet with synthetic codes (`SYN000123`), every day in fiscal
/// year 2025 (April 2025 to March 2026), and what saving it adds to the database.
pub struct Synthetic {
    /// The CSV text.
    pub text: String,
    /// Contacts it holds (= rows).
    pub contacts: u64,
    /// `contact_item` rows it adds: one per non-empty item cell.
    pub item_lines: u64,
    /// Contacts with a code; every code in a sheet is distinct and unused elsewhere.
    pub coded: u64,
}

/// `rows` contacts; `tag` makes the codes (and so the sheet) unlike any other tag's.
pub fn synthetic_sheet(tag: u64, rows: u64) -> Synthetic {
    assert!(rows < 100_000 && tag < 100);
    let mut text = String::from(
        "date,site,code,injection-kit,stem-pipe,naloxone-nasal,reversals,naloxone_reason\n",
    );
    let start = chrono::NaiveDate::from_ymd_opt(2025, 4, 1).unwrap();
    let (mut item_lines, mut coded) = (0, 0);
    for row in 0..rows {
        let day = start + chrono::Days::new(row % 270);
        let site = if row % 2 == 0 {
            "downtown-van"
        } else {
            "east-drop-in"
        };
        let code = if row % 7 == 0 {
            String::new()
        } else {
            coded += 1;
            format!("SYN{:07}", tag * 100_000 + row)
        };
        let pipes = row % 3;
        let naloxone = row % 5 == 0;
        item_lines += 1 + u64::from(pipes > 0) + u64::from(naloxone);
        writeln!(
            text,
            "{day},{site},{code},{},{},{},{},{}",
            row % 4 + 1,
            if pipes > 0 {
                pipes.to_string()
            } else {
                String::new()
            },
            if naloxone { "1" } else { "" },
            if row % 11 == 0 { "1" } else { "" },
            if naloxone { "first" } else { "" },
        )
        .unwrap();
    }
    Synthetic {
        text,
        contacts: rows,
        item_lines,
        coded,
    }
}

/// Batches, contacts and item lines in the file, counted by the `sqlite3` shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counts {
    batches: u64,
    contacts: u64,
    item_lines: u64,
}

impl Counts {
    fn of(kit: &Kitlog) -> Counts {
        let out = kit.sql(
            "SELECT (SELECT count(*) FROM batch), (SELECT count(*) FROM contact),
                    (SELECT count(*) FROM contact_item)",
        );
        let numbers: Vec<u64> = out.trim().split('|').map(|n| n.parse().unwrap()).collect();
        Counts {
            batches: numbers[0],
            contacts: numbers[1],
            item_lines: numbers[2],
        }
    }

    fn plus(self, sheet: &Synthetic) -> Counts {
        Counts {
            batches: self.batches + 1,
            contacts: self.contacts + sheet.contacts,
            item_lines: self.item_lines + sheet.item_lines,
        }
    }
}

/// The rollback journal beside the database, as a crash left it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Journal {
    /// None: no write was under way (SQLite deletes it when a transaction ends).
    Absent,
    /// Its header not yet written: the database file is untouched, and SQLite ignores
    /// the file until the next write reuses it.
    Inert,
    /// Hot: the database file holds part of a transaction, which the next opener must
    /// roll back from this journal.
    Hot,
}

fn journal(kit: &Kitlog) -> Journal {
    const MAGIC: [u8; 8] = [0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7];
    match std::fs::read(kit.path("program.db-journal")) {
        Err(_) => Journal::Absent,
        Ok(bytes) if bytes.starts_with(&MAGIC) => Journal::Hot,
        Ok(_) => Journal::Inert,
    }
}

/// SIGKILL after `delay`; `true` when the kill ended the process (rather than the
/// process having finished first, in which case it must have succeeded).
pub fn kill_after(mut child: Child, delay: Duration) -> bool {
    std::thread::sleep(delay);
    child.kill().unwrap();
    let status = child.wait().unwrap();
    if status.signal() == Some(9) {
        true
    } else {
        assert!(status.success(), "finished before the kill, but {status}");
        false
    }
}

/// Kill attempts on one program, one synthetic sheet at a time.
struct KillRun {
    kit: Kitlog,
    rows: u64,
    /// How long one whole import took, unkilled.
    full: Duration,
    /// What the database must hold when nothing is in flight.
    expected: Counts,
    /// The sheet being tried, its tag and path.
    tag: u64,
    sheet: Synthetic,
    path: std::path::PathBuf,
    /// Kills that ended a run (rather than coming after it finished).
    killed: usize,
    /// Kills that left a journal: they came in the middle of the write.
    torn_writes: usize,
    /// Kills that left a hot journal: part of the write was in the database file.
    rollbacks: usize,
}

impl KillRun {
    /// One import of `sheet`, killed at `fraction` of a full import's time. The program
    /// is then exactly before or exactly after, and passes `kitlog check` (the first
    /// command to open it, so the one that finds and rolls back a hot journal). A sheet
    /// that did not land is tried again next time; one that landed is followed by a
    /// new sheet.
    fn attempt(&mut self, fraction: f64) {
        let child = self
            .kit
            .process()
            .arg("import")
            .arg(&self.path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let was_killed = kill_after(child, self.full.mul_f64(fraction));
        let left = journal(&self.kit);
        self.kit.run(&["check"]).success();
        let now_left = journal(&self.kit);
        assert!(
            now_left == left && left != Journal::Hot
                || left == Journal::Hot && now_left == Journal::Absent,
            "journal {left:?} before kitlog check, {now_left:?} after"
        );
        let now = Counts::of(&self.kit);
        let after = self.expected.plus(&self.sheet);
        assert!(
            now == self.expected || now == after,
            "after a kill at {fraction} of {:?}: {now:?}, neither {:?} nor {after:?}",
            self.full,
            self.expected
        );
        self.killed += usize::from(was_killed);
        self.torn_writes += usize::from(left != Journal::Absent);
        self.rollbacks += usize::from(left == Journal::Hot);
        if now == after {
            self.expected = after;
            self.tag += 1;
            self.sheet = synthetic_sheet(self.tag, self.rows);
            self.path = self
                .kit
                .sheet(&format!("sheet{}.csv", self.tag), &self.sheet.text);
        }
    }
}

/// Imports synthetic sheets of `rows` contacts, killing them at `fractions` of one
/// full import's time (see [`KillRun::attempt`]). At the end the sheet that had not
/// landed is imported whole, once, and a landed one is refused, not doubled.
fn kill_imports(rows: u64, fractions: &[f64], want_torn_write: bool) {
    let kit = Kitlog::initialised();
    // One full import first, to spread the kills across the time an import takes.
    let first = synthetic_sheet(0, rows);
    let path = kit.sheet("sheet0.csv", &first.text);
    let started = Instant::now();
    kit.import(&path, &[]).success();
    let full = started.elapsed();
    let expected = Counts {
        batches: 0,
        contacts: 0,
        item_lines: 0,
    }
    .plus(&first);
    assert_eq!(Counts::of(&kit), expected);
    let sheet = synthetic_sheet(1, rows);
    let path = kit.sheet("sheet1.csv", &sheet.text);
    let mut run = KillRun {
        kit,
        rows,
        full,
        expected,
        tag: 1,
        sheet,
        path,
        killed: 0,
        torn_writes: 0,
        rollbacks: 0,
    };
    for &fraction in fractions {
        run.attempt(fraction);
    }
    // The import streams into one transaction and SQLite writes the file at commit,
    // near the end of the run: aim there until one kill has left a hot journal.
    let mut extra = 0;
    while want_torn_write && run.rollbacks == 0 && extra < 12 {
        run.attempt(0.80 + 0.02 * f64::from(extra));
        extra += 1;
    }
    assert!(
        run.killed >= fractions.len() / 2,
        "only {} kills ended a run",
        run.killed
    );
    if want_torn_write {
        // Every kill inside the transaction counts; a hot journal (a kill while the
        // file itself was being written) is the harder case and usually one lands, but
        // the window is milliseconds wide, so it is not demanded of every run.
        assert!(
            run.torn_writes >= 1,
            "no kill came inside a write transaction ({} rollbacks)",
            run.rollbacks
        );
    }

    let KillRun {
        kit,
        mut expected,
        sheet,
        path,
        ..
    } = run;
    // The sheet being tried when the kills stopped: run again, it lands exactly once.
    kit.import(&path, &[])
        .success()
        .stdout(predicates::str::starts_with(format!(
            "saved batch {}: {rows} contacts",
            expected.batches + 1,
        )));
    expected = expected.plus(&sheet);
    assert_eq!(Counts::of(&kit), expected);
    // A sheet that landed (the first one here) is refused, not doubled.
    kit.import(&kit.path("sheet0.csv"), &[])
        .failure()
        .code(1)
        .stderr(predicates::str::starts_with(
            "error: this shift sheet was already imported as batch 1;",
        ));
    assert_eq!(Counts::of(&kit), expected);
    kit.run(&["check"]).success().stdout(format!(
        "ok: the file is intact and keeps all 13 rules of kitlog (schema 6); {} batches, {} contacts, 1 passphrase\n",
        expected.batches, expected.contacts
    ));
    // Every landed batch is whole: exactly one sheet's contacts, codes all distinct.
    let per_batch = kit
        .sql("SELECT count(*), count(code), count(DISTINCT code) FROM contact GROUP BY batch_id");
    let one = format!("{rows}|{coded}|{coded}\n", coded = first.coded);
    assert_eq!(
        per_batch,
        one.repeat(usize::try_from(expected.batches).unwrap())
    );
    // The last write ended normally: the program is one file again.
    assert_eq!(kit.files(), ["program.db", "program.db.keys"]);
}

#[test]
fn an_import_killed_at_any_moment_leaves_before_or_after_small_sheet() {
    // Spread across the run (most of which is unlocking the key, for a small sheet),
    // all before its usual end, so that most kills land on a shared, busy machine.
    let fractions: Vec<f64> = (0..12).map(|i| 0.05 + 0.075 * f64::from(i)).collect();
    kill_imports(20, &fractions, false);
}

#[test]
fn an_import_killed_at_any_moment_leaves_before_or_after_large_sheet() {
    kill_imports(20_000, &[0.15, 0.45, 0.62, 0.72, 0.8, 0.88, 0.95], true);
}

/// Contact line `n` (1-based) of the piped shift, and the `contact_item` rows it
/// makes, as `position|item|quantity`.
fn shift_line(n: u64) -> (String, Vec<String>) {
    let mut line = format!("SYN{n:06} ik{}", n % 4 + 1);
    let mut items = vec![format!("{n}|injection-kit|{}", n % 4 + 1)];
    if n % 10 == 0 {
        line.push_str(" nn1 first");
        items.push(format!("{n}|naloxone-nasal|1"));
    }
    if n % 3 > 0 {
        write!(line, " sp{}", n % 3).unwrap();
        items.push(format!("{n}|stem-pipe|{}", n % 3));
    }
    items.sort();
    (line + "\n", items)
}

/// The item rows of lines `1..=n`, in `ORDER BY position, item name` order.
fn expected_items(n: u64) -> String {
    (1..=n)
        .flat_map(|i| shift_line(i).1)
        .map(|row| row + "\n")
        .collect()
}

/// The highest `kept N` that `kitlog shift` printed.
fn last_kept(stdout: &str) -> u64 {
    stdout
        .lines()
        .filter_map(|line| line.trim().strip_prefix("kept "))
        .map(|rest| rest.split(' ').next().unwrap().parse::<u64>().unwrap())
        .max()
        .unwrap_or(0)
}

#[test]
fn a_piped_shift_killed_mid_stream_keeps_every_kept_line_and_resumes() {
    // Each killed session is given CHUNK lines, so the kills can never reach the end.
    const LINES: u64 = 150;
    const CHUNK: u64 = 24;
    let kit = Kitlog::initialised();
    let mut kept = 0;
    let mut mid_stream = 0;
    // Each session is killed once it has said it kept `target` more lines, plus a
    // few milliseconds: inside the next line's read, salt or commit, however fast the
    // machine (a line takes a commit, from under a millisecond to tens).
    for (session, (target, jitter_ms)) in [(3, 0), (7, 2), (1, 5), (12, 1), (5, 8), (9, 3)]
        .into_iter()
        .enumerate()
    {
        let resume = kit.sql("SELECT count(*) FROM shift_draft").trim() == "1";
        let mut input = String::new();
        if !resume {
            assert_eq!(kept, 0);
            input.push_str("2025-06-01\n1\n\n");
        }
        for n in kept + 1..=kept + CHUNK {
            input.push_str(&shift_line(n).0);
        }
        let out_path = kit.path(&format!("session{session}.txt"));
        let mut command = kit.process();
        command.arg("shift");
        if resume {
            command.arg("--resume");
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(std::fs::File::create(&out_path).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // The chunk at once, and the pipe left open: the session reads line by line,
        // committing each, and would wait for more when it runs out.
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.as_bytes()).unwrap();
        let waiting = Instant::now();
        while last_kept(&std::fs::read_to_string(&out_path).unwrap()) < kept + target {
            assert!(waiting.elapsed() < Duration::from_secs(20), "no progress");
            std::thread::sleep(Duration::from_micros(500));
        }
        assert!(kill_after(child, Duration::from_millis(jitter_ms)));
        drop(stdin);

        // Positions are global, so a session that printed none has kept what it found.
        let printed = last_kept(&std::fs::read_to_string(&out_path).unwrap()).max(kept);
        kit.run(&["check"]).success();
        let in_draft: u64 = kit
            .sql("SELECT count(*) FROM shift_draft_contact")
            .trim()
            .parse()
            .unwrap();
        // A line said to be kept is in the draft; at most one more (committed, killed
        // before saying so). Nothing typed before is lost.
        assert!(
            in_draft == printed || in_draft == printed + 1,
            "session {session}: {in_draft} in the draft, kept {printed} printed"
        );
        assert!(in_draft >= kept, "session {session} lost lines");
        if in_draft < kept + CHUNK {
            mid_stream += 1;
        }
        kept = in_draft;
        // Every line in the draft is whole (all its items) and in place, none twice.
        assert_eq!(
            kit.sql(
                "SELECT d.position, i.name, d.quantity FROM shift_draft_item d
                   JOIN item i ON i.id = d.item_id ORDER BY d.position, i.name"
            ),
            expected_items(kept)
        );
        assert_eq!(
            kit.sql("SELECT count(*) = count(DISTINCT code) FROM shift_draft_contact"),
            "1\n"
        );
    }
    assert!(mid_stream >= 3, "only {mid_stream} kills came mid-stream");

    // The rest, then done: every line lands once, in order.
    let mut rest: String = (kept + 1..=LINES).map(|n| shift_line(n).0).collect();
    rest.push_str("done\ny\n");
    kit.command()
        .args(["shift", "--resume"])
        .write_stdin(rest)
        .assert()
        .success()
        .stdout(predicates::str::contains(format!(
            "resumed: {kept} contacts kept so far\n"
        )))
        .stdout(predicates::str::contains(format!(
            "saved batch 1: {LINES} contacts (0 anonymous) at downtown-van on 2025-06-01\n"
        )));
    assert_eq!(
        kit.sql(
            "SELECT c.position, i.name, ci.quantity FROM contact c
               JOIN contact_item ci ON ci.contact_id = c.id
               JOIN item i ON i.id = ci.item_id ORDER BY c.position, i.name"
        ),
        expected_items(LINES)
    );
    assert_eq!(
        kit.sql(
            "SELECT count(*), count(DISTINCT code), (SELECT count(*) FROM shift_draft_contact)
               FROM contact"
        ),
        format!("{LINES}|{LINES}|0\n")
    );
    kit.run(&["check"]).success();
}

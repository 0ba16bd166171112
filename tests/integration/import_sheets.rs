//! `kitlog import` of what is probably, but not surely, a mistake (warnings, confirmed
//! or refused), and of several sheets in one command.

use std::fmt::Write as _;

use rexpect::session::spawn_command;

use crate::harness::{Kitlog, PASSPHRASE, contains, not_imported};

/// A sheet whose code column holds a count, two codes a spreadsheet turned into
/// numbers, and a date years before the program was made.
const DOUBTFUL: &str = "date,site,code,injection-kit\n\
                        2026-11-20,downtown-van,5,2\n\
                        2026-11-20,downtown-van,4.56E+07,1\n\
                        2026-11-20,downtown-van,\"4,56E+07\",1\n\
                        2024-06-01,downtown-van,BLUEFOX77,1\n";

/// The same warnings, however they end: each said once with its lines, never with
/// the cell's text.
const WARNINGS: &str = "warning: line 2, column \"code\": the code is a small number alone; is it a count typed in the code column?\n\
warning: lines 3 and 4, column \"code\": the code looks turned into a number by a spreadsheet (like 1.00E+05), so the real code is lost: saved, the contact counts as anonymous; format the code column as text\n\
warning: line 5, column \"date\": the date is more than a year before this program was made (2026-11-25); check the year\n";

/// A program made on `day`, which is also today.
fn made_on(day: &'static str) -> Kitlog {
    let kit = Kitlog::new().on(day);
    kit.run(&["init"]).success();
    kit.run(&["site", "add", "downtown-van"]).success();
    kit
}

#[test]
fn warnings_stop_a_script_unless_it_says_yes() {
    let kit = made_on("2026-11-25");
    let sheet = kit.sheet("doubtful.csv", DOUBTFUL);
    let before = kit.stored_bytes();
    kit.import(&sheet, &[]).failure().stderr(format!(
        "{WARNINGS}error: the shift sheet has 4 warnings (above); nothing was saved: check it, or import it again with --yes to save it as it is\n"
    ));
    assert_eq!(
        kit.stored_bytes(),
        before,
        "a refused sheet wrote something"
    );
    // The dry run says the same and passes: warnings are not errors.
    kit.import(&sheet, &["--dry-run"])
        .success()
        .stderr(WARNINGS.to_owned())
        .stdout(predicates::str::starts_with(
            "dry run: the sheet is fine apart from 4 warnings (above), which the import asks about (--yes accepts them); it would save 4 contacts (2 anonymous)",
        ));
    let saved = kit.import(&sheet, &["--yes"]).success();
    let output = saved.get_output();
    assert_eq!(String::from_utf8_lossy(&output.stderr), WARNINGS);
    assert_eq!(kit.sql("SELECT count(*) FROM contact"), "4\n");
    // The two codes a spreadsheet mangled are saved as anonymous contacts: hashed,
    // their mantissas would have made them one participant.
    assert_eq!(
        kit.sql("SELECT count(*) FROM contact WHERE code IS NULL"),
        "2\n"
    );
    for stream in [&output.stdout, &output.stderr] {
        assert!(!contains(stream, b"4.56") && !contains(stream, b"4,56"));
    }
}

/// At a terminal the worker sees the warnings and decides.
#[test]
fn warnings_are_confirmed_at_a_terminal() {
    let kit = made_on("2026-11-25");
    let sheet = kit.sheet("doubtful.csv", DOUBTFUL);
    for (answer, saved) in [("n", "0\n"), ("y", "4\n")] {
        let mut command = kit.process();
        command.arg("import").arg(&sheet);
        let mut pty = spawn_command(command, Some(20_000)).expect("spawn");
        pty.exp_string("Passphrase: ").expect("passphrase");
        pty.send_line(PASSPHRASE).expect("send");
        pty.exp_string("lines 3 and 4, column \"code\"")
            .expect("warnings");
        pty.exp_string("doubtful.csv anyway? [y/N] ")
            .expect("question");
        pty.send_line(answer).expect("answer");
        pty.exp_eof().expect("ends");
        assert_eq!(kit.sql("SELECT count(*) FROM contact"), saved, "{answer}");
    }
}

fn good_sheet(kit: &Kitlog, name: &str, day: &str) -> std::path::PathBuf {
    kit.sheet(
        name,
        format!("date,site,code,injection-kit\n{day},downtown-van,A1,2\n{day},downtown-van,,1\n"),
    )
}

/// Several sheets, one passphrase: each saved whole or not at all, the good ones
/// kept when one is refused, and a summary at the end.
#[test]
fn several_sheets_each_all_or_nothing() {
    let kit = Kitlog::initialised();
    let a = good_sheet(&kit, "a.csv", "2026-11-16");
    let b = kit.sheet(
        "b.csv",
        "date,site,code,injection-kit\n2026-11-17,uptown,A1,2\n",
    );
    let c = good_sheet(&kit, "c.csv", "2026-11-18");
    let output = kit
        .command()
        .arg("import")
        .args([&a, &b, &c])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        stdout,
        format!(
            "{a}: saved batch 1: 2 contacts (1 anonymous) at downtown-van on 2026-11-16\n\
             \x20 injection-kit 3; reversals 0, for others 0, returned 0\n\
             {c}: saved batch 2: 2 contacts (1 anonymous) at downtown-van on 2026-11-18\n\
             \x20 injection-kit 3; reversals 0, for others 0, returned 0\n\
             note: the saved sheets still hold raw participant codes; delete them now\n\
             \x20 (Linux: shred -u {a} {c}; elsewhere delete them and empty the trash)\n",
            a = a.display(),
            c = c.display()
        )
    );
    assert_eq!(
        stderr,
        format!(
            "error: {b}: line 2, column \"site\": no site of that name; see kitlog site list, or add it with kitlog site add\n\
             {}\
             error: 1 of 3 shift sheets was not imported (see above); the others are saved\n",
            not_imported(1),
            b = b.display()
        )
    );
    assert_eq!(kit.sql("SELECT count(*) FROM batch"), "2\n");
    // A sheet that is not there stops everything before the passphrase is asked.
    let before = kit.stored_bytes();
    kit.command()
        .arg("import")
        .arg(good_sheet(&kit, "d.csv", "2026-11-19"))
        .arg(kit.path("missing.csv"))
        .assert()
        .failure()
        .stderr(predicates::str::contains("missing.csv"));
    assert_eq!(kit.stored_bytes(), before);
}

/// One passphrase prompt for every sheet of the command.
#[test]
fn several_sheets_ask_for_the_passphrase_once() {
    let kit = Kitlog::initialised();
    let a = good_sheet(&kit, "a.csv", "2026-11-16");
    let c = good_sheet(&kit, "c.csv", "2026-11-18");
    let mut command = kit.process();
    command.arg("import").arg(&a).arg(&c);
    let mut pty = spawn_command(command, Some(20_000)).expect("spawn");
    pty.exp_string("Passphrase: ").expect("passphrase");
    pty.send_line(PASSPHRASE).expect("send");
    let rest = pty.exp_eof().expect("ends");
    assert!(!rest.contains("Passphrase"), "{rest}");
    assert!(rest.contains("saved batch 2"), "{rest}");
    assert_eq!(kit.sql("SELECT count(*) FROM batch"), "2\n");
}

/// A long import shows a progress bar on a terminal (and, as every other test of
/// import shows by its exact standard error, nothing when stderr is not one).
#[test]
fn a_long_import_shows_its_progress_at_a_terminal() {
    let kit = Kitlog::initialised();
    // A million contacts: several seconds of reading even on a fast machine.
    let mut sheet = String::from("date,site,code,injection-kit\n");
    for n in 0..1_000_000 {
        writeln!(
            sheet,
            "2026-11-20,downtown-van,CODE{}X,{}",
            n % 5000,
            1 + n % 3
        )
        .unwrap();
    }
    let sheet = kit.sheet("long.csv", sheet);
    let mut command = kit.process();
    command.arg("import").arg(&sheet);
    let mut pty = spawn_command(command, Some(120_000)).expect("spawn");
    pty.exp_string("Passphrase: ").expect("passphrase");
    pty.send_line(PASSPHRASE).expect("send");
    pty.exp_string("% of ").expect("a progress bar");
    pty.exp_string("saved batch 1: 1000000 contacts")
        .expect("saved");
}

/// A sheet warned on every row says the first warnings with their lines and counts
/// the rest; a sheet's name with a space is quoted in the `shred` hint.
#[test]
fn many_warnings_are_counted_and_odd_names_quoted() {
    let kit = made_on("2026-11-25");
    let mut sheet = String::from("date,site,code,injection-kit\n");
    for n in 0..600 {
        // A code of a small number alone on every row, the lines apart.
        writeln!(sheet, "2026-11-20,downtown-van,{},1", n % 10).unwrap();
        writeln!(sheet, "2026-11-20,downtown-van,,1").unwrap();
    }
    let path = kit.sheet("my sheet.csv", sheet);
    let output = kit.import(&path, &["--yes"]).success();
    let output = output.get_output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
    assert!(
        stderr.ends_with("warning: ... and 100 more warnings on later lines\n"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!("(Linux: shred -u '{}';", path.display())),
        "{stdout}"
    );
}

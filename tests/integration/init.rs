//! `kitlog init`: creating programs, settings, passphrases, refusing to overwrite, and
//! what every other command says when the program file is missing or is not a program.

use std::path::Path;

use assert_cmd::Command;
use chrono::{Datelike, NaiveDate};

use crate::harness::{Kitlog, MADE_ON, PASSPHRASE, plain_sql, refusal, today};

/// The second line of `init`'s summary, for a program whose fiscal year starts in
/// `start_month`, computed from today as the binary sees it.
fn fiscal_line(start_month: u32, min_cell: u32) -> String {
    let today: NaiveDate = today().parse().expect("today is a date");
    let year = if today.month() >= start_month {
        today.year()
    } else {
        today.year() - 1
    };
    let first = NaiveDate::from_ymd_opt(year, start_month, 1).unwrap();
    let last = first
        .checked_add_months(chrono::Months::new(12))
        .unwrap()
        .pred_opt()
        .unwrap();
    let label = if start_month == 1 {
        format!("FY{year}")
    } else {
        format!("FY{year}-{:02}", (year + 1).rem_euclid(100))
    };
    format!(
        "  fiscal years start in month {start_month} ({label} runs {first} to {last}); reports hide counts below {min_cell}\n"
    )
}

/// `init`'s whole summary.
fn summary(kit: &Kitlog, start_month: u32, min_cell: u32) -> String {
    format!(
        "created a kitlog program at {}\n{}\
         \x20 8 items are in the catalogue (kitlog item list); add sites with: kitlog site add NAME\n\
         keep the passphrase safe: nobody can recover it, and without it no codes can be made\n",
        kit.db().display(),
        fiscal_line(start_month, min_cell),
    )
}

/// What every command but `init` says when `db` holds no program.
fn no_program_at(db: &Path) -> String {
    format!(
        "error: there is no kitlog program at {}; run `kitlog init` first, or give the right --db\n",
        db.display()
    )
}

/// `kitlog` with its passphrase in `file` only (`KITLOG_PASSPHRASE` unset).
fn passphrase_from(kit: &Kitlog, file: &Path) -> Command {
    let mut command = kit.command();
    command
        .env_remove("KITLOG_PASSPHRASE")
        .env("KITLOG_PASSPHRASE_FILE", file);
    command
}

#[test]
fn init_creates_a_program_and_says_what_it_made() {
    let kit = Kitlog::new();
    kit.run(&["init"])
        .success()
        .stdout(summary(&kit, 4, 5))
        .stderr("");
    assert_eq!(kit.files(), vec!["program.db", "program.db.keys"]);
    assert_eq!(
        kit.sql("SELECT fiscal_year_start, min_cell, code_format IS NULL FROM program"),
        "4|5|1\n"
    );
    assert_eq!(kit.sql("SELECT count(*) FROM item"), "8\n");
    let keys = std::fs::read_to_string(kit.path("program.db.keys")).unwrap();
    assert_eq!(keys.lines().count(), 2, "a header and one slot");
    assert!(
        keys.lines()
            .nth(1)
            .unwrap()
            .starts_with(&format!("initial,{},argon2id,65536,3,1,", today()))
    );
}

#[test]
fn init_takes_its_settings_from_the_command_line() {
    let kit = Kitlog::new();
    kit.run(&["init", "--fiscal-year-start", "1", "--min-cell", "10"])
        .success()
        .stdout(summary(&kit, 1, 10));
    assert_eq!(
        kit.sql("SELECT fiscal_year_start, min_cell FROM program"),
        "1|10\n"
    );
}

#[test]
fn init_never_overwrites_a_program() {
    let kit = Kitlog::bare();
    let before = kit.stored_bytes();
    kit.run(&["init"])
        .failure()
        .code(1)
        .stdout("")
        .stderr(format!(
            "error: a file already exists at {}; kitlog init never overwrites, so choose another --db\n",
            kit.db().display()
        ));
    // Not even with other settings, or with another passphrase.
    kit.command()
        .env("KITLOG_PASSPHRASE", "another passphrase entirely")
        .args(["init", "--fiscal-year-start", "1"])
        .assert()
        .failure()
        .code(1);
    assert_eq!(kit.stored_bytes(), before);
}

#[test]
fn init_never_overwrites_any_file() {
    let kit = Kitlog::new();
    let precious: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    for contents in [&precious[..], b"", b"not a database\n"] {
        std::fs::write(kit.db(), contents).unwrap();
        kit.run(&["init"]).failure().code(1).stdout("").stderr(format!(
            "error: a file already exists at {}; kitlog init never overwrites, so choose another --db\n",
            kit.db().display()
        ));
        assert_eq!(std::fs::read(kit.db()).unwrap(), contents);
        assert_eq!(
            kit.files(),
            vec!["program.db"],
            "no journal or key file left behind"
        );
    }
}

#[test]
fn init_refuses_bad_settings_and_creates_nothing() {
    let kit = Kitlog::new();
    let fiscal = "error: --fiscal-year-start is a month number from 1 to 12\n";
    let min_cell = "error: --min-cell is at least 1 (1 hides nothing; 5 or more is usual)\n";
    let format =
        "error: --code-format is 1 to 64 of A (letter), 9 (digit) and * (either), e.g. AAAAA9999\n";
    let long_mask = "A".repeat(65);
    let cases: [(&[&str], &str); 9] = [
        (&["--fiscal-year-start", "0"], fiscal),
        (&["--fiscal-year-start", "13"], fiscal),
        (&["--min-cell", "0"], min_cell),
        (&["--code-format", "AB-9"], format),
        (&["--code-format", "XXXX"], format),
        (&["--code-format", ""], format),
        (&["--code-format", " "], format),
        (&["--code-format", &long_mask], format),
        // A bad setting is refused even when the passphrase would be too.
        (&["--min-cell", "0", "--fiscal-year-start", "4"], min_cell),
    ];
    for (args, stderr) in cases {
        kit.refused_by(kit.command().arg("init").args(args), stderr);
    }
    // Values that are not numbers at all are clap's to refuse.
    for args in [
        ["--fiscal-year-start", "april"],
        ["--fiscal-year-start", "-1"],
        ["--min-cell", "five"],
    ] {
        kit.command()
            .arg("init")
            .args(args)
            .assert()
            .failure()
            .code(2)
            .stdout("");
        assert!(kit.files().is_empty());
    }
}

/// The refusal of a guessable passphrase.
const WEAK: &str = "error: that passphrase is too easy to guess: with a copy of the file, a guesser would find it within ten billion tries; choose four or more random words (like \"velvet orbit maple canyon\", but your own); nothing was saved\n";

#[test]
fn init_refuses_a_guessable_passphrase_and_creates_nothing() {
    let kit = Kitlog::new();
    // The forensic review's accepted passphrases, and the one it cracked in 22 guesses.
    for short in [
        "",
        "1234567",
        "ééééééé",
        "password",
        "12345678",
        "aaaaaaaa",
        "kitlog12",
        "sunshine1",
    ] {
        kit.refused_by(
            kit.command().env("KITLOG_PASSPHRASE", short).arg("init"),
            WEAK,
        );
    }
}

#[test]
fn init_without_any_passphrase_source_is_refused() {
    let kit = Kitlog::new();
    kit.refused_by(
        kit.command().env_remove("KITLOG_PASSPHRASE").arg("init"),
        "error: a passphrase is needed: run kitlog at a terminal, or set KITLOG_PASSPHRASE_FILE or KITLOG_PASSPHRASE\n",
    );
}

#[test]
fn init_with_an_unreadable_passphrase_file_creates_nothing() {
    let kit = Kitlog::new();
    let missing = kit.path("no-such-passphrase.txt");
    kit.refused_by(
        passphrase_from(&kit, &missing).arg("init"),
        &format!(
            "error: could not read {}: it does not exist\n",
            missing.display()
        ),
    );
    // An empty file is an empty passphrase: guessed first.
    let empty = private(kit.sheet("empty-passphrase.txt", "\n"));
    kit.refused_by(passphrase_from(&kit, &empty).arg("init"), WEAK);
}

/// `path`, made readable by its owner only, as a passphrase file should be.
fn private(path: std::path::PathBuf) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// A passphrase file other accounts can read is used, with a warning that says how
/// to make it private.
#[test]
fn a_passphrase_file_others_can_read_is_warned_about() {
    let kit = Kitlog::new();
    let file = kit.sheet("passphrase.txt", "a passphrase kept in a file\n");
    passphrase_from(&kit, &file)
        .arg("init")
        .assert()
        .success()
        .stderr(format!(
            "warning: {0} can be read by other accounts on this machine; make it yours alone: chmod 600 {0}\n",
            file.display()
        ));
    private(file.clone());
    passphrase_from(&kit, &file)
        .args(["site", "list"])
        .assert()
        .success()
        .stderr("");
}

#[test]
fn a_passphrase_file_and_the_environment_give_the_same_passphrase() {
    let kit = Kitlog::new();
    let file = private(kit.sheet("passphrase.txt", "a passphrase kept in a file\n"));
    passphrase_from(&kit, &file)
        .env("KITLOG_TODAY", MADE_ON)
        .arg("init")
        .assert()
        .success();
    passphrase_from(&kit, &file)
        .args(["site", "add", "downtown-van"])
        .assert()
        .success();
    let sheet = kit.sheet(
        "s.csv",
        "date,site,code,syringe\n2024-11-20,downtown-van,BLUEFOX77,1\n",
    );
    // The harness's own passphrase does not open this program.
    kit.import_refused(
        &sheet,
        &[],
        "error: the passphrase does not open this program; nothing was saved\n",
    );
    // Neither does no passphrase at all.
    kit.refused_by(
        kit.command()
            .env_remove("KITLOG_PASSPHRASE")
            .arg("import")
            .arg(&sheet),
        "error: a passphrase is needed: run kitlog at a terminal, or set KITLOG_PASSPHRASE_FILE or KITLOG_PASSPHRASE\n",
    );
    // The file's text without its final newline does.
    kit.command()
        .env("KITLOG_PASSPHRASE", "a passphrase kept in a file")
        .arg("import")
        .arg(&sheet)
        .assert()
        .success();
    assert_ne!(PASSPHRASE, "a passphrase kept in a file");
}

#[test]
fn a_code_format_refuses_codes_that_do_not_fit() {
    let kit = Kitlog::new();
    kit.command()
        .env("KITLOG_TODAY", MADE_ON)
        .args(["init", "--code-format", "AAAAA9999"])
        .assert()
        .success();
    kit.run(&["site", "add", "downtown-van"]).success();
    assert_eq!(kit.sql("SELECT code_format FROM program"), "AAAAA9999\n");
    let sheet = kit.sheet(
        "wrong.csv",
        "date,site,code,syringe\n\
         2024-11-20,downtown-van,BLUEFOX77,1\n\
         2024-11-20,downtown-van,MABC1980,1\n\
         2024-11-20,downtown-van,M-ABCD-198O,1\n\
         2024-11-20,downtown-van,M-ABCD-19800,1\n\
         2024-11-20,downtown-van,M-ABCD-1980,1\n",
    );
    // One mistake on four rows is said once, with its lines.
    kit.import_refused(
        &sheet,
        &[],
        &refusal(&["lines 2 to 5, column \"code\": the code does not fit the program's code format AAAAA9999 (A = letter, 9 = digit, * = either)"])
            .replace("(1 problem)", "(4 problems)"),
    );
    // Spaces, dashes and case do not count; anonymous contacts need no code.
    let sheet = kit.sheet(
        "right.csv",
        "date,site,code,syringe\n2024-11-20,downtown-van,M-ABCD-1980,1\n2024-11-20,downtown-van,m abcd 1980,1\n2024-11-20,downtown-van,,1\n",
    );
    kit.import(&sheet, &[])
        .success()
        .stdout(predicates::str::starts_with(
            "saved batch 1: 3 contacts (1 anonymous) at downtown-van on 2024-11-20\n",
        ));
    assert_eq!(
        kit.sql("SELECT count(DISTINCT code) FROM contact WHERE code IS NOT NULL"),
        "1\n"
    );
}

#[test]
fn every_other_command_needs_an_existing_program_and_creates_none() {
    let kit = Kitlog::new();
    let sheet = kit.sheet(
        "s.csv",
        "date,site,code,syringe\n2024-11-20,downtown-van,,1\n",
    );
    let sheet = sheet.to_str().unwrap();
    let commands: [&[&str]; 18] = [
        &["site", "add", "downtown-van"],
        &["site", "list"],
        &["site", "retire", "downtown-van"],
        &["item", "add", "condom", "--category", "other"],
        &["item", "list"],
        &["item", "retire", "syringe"],
        &["item", "alias", "syringe", "syr"],
        &["shift"],
        &["shift", "--resume"],
        &["shift", "--discard"],
        &["report", "--period", "month"],
        &["report", "--period", "quarter", "--out", "report.csv"],
        &["summary"],
        &["import", sheet],
        &["import", sheet, "--dry-run"],
        &["batches"],
        &["void", "1", "--reason", "test"],
        &["void", "1", "--contact", "1", "--reason", "test"],
    ];
    let missing = kit.path("missing.db");
    for args in commands {
        // Named by --db, and by KITLOG_DB (the harness sets it to program.db).
        kit.refused_by(
            kit.command().arg("--db").arg(&missing).args(args),
            &no_program_at(&missing),
        );
        kit.refused(args, &no_program_at(&kit.db()));
        assert!(kit.files().is_empty(), "{args:?} left {:?}", kit.files());
        assert!(!kit.path("report.csv").exists(), "{args:?} wrote a report");
    }
    // The same with --db naming a file in a folder that does not exist.
    let elsewhere = kit.path("no-such-folder/program.db");
    kit.refused_by(
        kit.command().arg("--db").arg(&elsewhere).arg("batches"),
        &no_program_at(&elsewhere),
    );
    assert!(kit.files().is_empty());
}

#[test]
fn a_file_that_is_not_a_program_is_refused_and_left_alone() {
    let kit = Kitlog::new();
    // Random-looking bytes (a fixed xorshift sequence), an empty file, and a real but
    // empty SQLite database made by the sqlite3 tool.
    let mut state: u32 = 0x2545_f491;
    let random: Vec<u8> = (0..8192)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        })
        .collect();
    // An encrypted program looks like random bytes: without its key file beside it,
    // kitlog cannot tell one from the other, and says both.
    let files: [(&str, Vec<u8>); 3] = [
        ("random.db", random),
        ("zero.db", Vec::new()),
        ("sqlite.db", {
            let path = kit.path("made-by-sqlite3.db");
            plain_sql(&path, "CREATE TABLE t (x); DROP TABLE t; VACUUM;");
            let bytes = std::fs::read(&path).unwrap();
            std::fs::remove_file(&path).unwrap();
            assert!(bytes.starts_with(b"SQLite format 3\0"));
            bytes
        }),
    ];
    for (name, bytes) in files {
        let path = kit.path(name);
        let expected = if name == "sqlite.db" {
            format!(
                "error: {} is not a kitlog program database\n",
                path.display()
            )
        } else {
            format!(
                "error: there is no key file {}.keys beside {}: if this is a kitlog program, copy its key file back from the backup (the file whose name ends in .keys); without it no passphrase opens the program\n",
                path.display(),
                path.display()
            )
        };
        std::fs::write(&path, &bytes).unwrap();
        let sheet = kit.sheet(
            "s.csv",
            "date,site,code,syringe\n2024-11-20,downtown-van,,1\n",
        );
        for args in [
            vec!["batches"],
            vec!["site", "list"],
            vec!["site", "add", "downtown-van"],
            vec!["item", "list"],
            vec!["void", "1", "--reason", "test"],
            vec!["import", sheet.to_str().unwrap()],
            vec!["item", "alias", "syringe", "syr"],
            vec!["shift"],
            vec!["report", "--period", "month"],
            vec!["summary"],
        ] {
            kit.command()
                .arg("--db")
                .arg(&path)
                .args(&args)
                .assert()
                .failure()
                .code(1)
                .stdout("")
                .stderr(expected.clone());
            assert_eq!(
                std::fs::read(&path).unwrap(),
                bytes,
                "{args:?} changed {name}"
            );
        }
        // init still refuses to overwrite it.
        kit.command()
            .arg("--db")
            .arg(&path)
            .arg("init")
            .assert()
            .failure()
            .code(1);
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
        std::fs::remove_file(&path).unwrap();
        assert!(kit.files().is_empty(), "left behind: {:?}", kit.files());
    }
}

#[cfg(unix)]
#[test]
fn the_program_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;

    let kit = Kitlog::initialised();
    kit.import(
        &kit.sheet(
            "s.csv",
            "date,site,code,syringe\n2024-11-20,downtown-van,BLUEFOX77,1\n",
        ),
        &[],
    )
    .success();
    let mode = std::fs::metadata(kit.db()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
}

#[test]
fn the_db_option_overrides_kitlog_db() {
    let kit = Kitlog::new();
    let other = kit.path("other.db");
    kit.command()
        .arg("--db")
        .arg(&other)
        .arg("init")
        .assert()
        .success()
        .stdout(predicates::str::starts_with(format!(
            "created a kitlog program at {}\n",
            other.display()
        )));
    assert_eq!(kit.files(), vec!["other.db", "other.db.keys"]);
    kit.command()
        .args(["site", "add", "downtown-van", "--db"])
        .arg(&other)
        .assert()
        .success()
        .stdout("added site downtown-van\n");
    kit.command()
        .arg("--db")
        .arg(&other)
        .args(["site", "list"])
        .assert()
        .success()
        .stdout("downtown-van\n");
    // KITLOG_DB (the harness sets it to program.db) still names no program.
    kit.refused(&["site", "list"], &no_program_at(&kit.db()));
    assert_eq!(kit.files(), vec!["other.db", "other.db.keys"]);
}

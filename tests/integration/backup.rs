//! `kitlog backup` and `kitlog check`: consistent copies, also while another kitlog
//! saves; a damaged file or a broken rule found, with what to do, and no values.

use std::fmt::Write as _;
use std::io::{Seek, SeekFrom, Write as _};

use crate::harness::{Kitlog, example, sqlite3};

const DAMAGED: &str = "error: the program database is damaged; stop using it and restore the last backup (kitlog backup)\n";

#[test]
fn a_backup_opens_with_kitlog_and_matches() {
    let kit = Kitlog::initialised();
    kit.import(&example("2026-11-16-downtown-van.csv"), &[])
        .success();
    kit.import(&example("2026-11-18-east-drop-in.csv"), &[])
        .success();
    kit.run(&["backup", "copy.db"]).success().stderr("").stdout(format!(
        "backed up {} to copy.db and its key file to copy.db.keys\n\
         \x20 to restore it, copy both over the program's files while no kitlog is running\n\
         \x20 it opens with the passphrases the program has today, even after they are changed or removed\n",
        kit.db().display()
    ));
    assert_eq!(
        kit.files(),
        vec!["copy.db", "copy.db.keys", "program.db", "program.db.keys"],
        "a temp file was left"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(kit.path("copy.db"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    for args in [&["batches"][..], &["report", "--period", "month"]] {
        let copy: Vec<&str> = ["--db", "copy.db"].iter().chain(args).copied().collect();
        assert_eq!(kit.stdout(&copy), kit.stdout(args));
    }
    kit.run(&["--db", "copy.db", "check"]).success();
}

#[test]
fn a_backup_never_overwrites() {
    let kit = Kitlog::initialised();
    std::fs::write(kit.path("copy.db"), "precious").unwrap();
    kit.run(&["backup", "copy.db"]).failure().code(1).stdout("").stderr(
        "error: a file already exists at copy.db; kitlog backup never overwrites, so choose another name\n",
    );
    assert_eq!(std::fs::read(kit.path("copy.db")).unwrap(), b"precious");
    assert_eq!(
        kit.files(),
        vec!["copy.db", "program.db", "program.db.keys"]
    );
}

/// Sheets of `rows` contacts each, on distinct days so none is a duplicate.
fn big_sheets(kit: &Kitlog, count: usize, rows: usize) -> Vec<std::path::PathBuf> {
    (0..count)
        .map(|n| {
            let mut sheet = String::from("date,site,code,injection-kit,stem-pipe\n");
            for row in 0..rows {
                writeln!(
                    sheet,
                    "2026-11-{:02},downtown-van,P{n}X{row},1,{}",
                    n + 1,
                    row % 3
                )
                .unwrap();
            }
            kit.sheet(&format!("big{n}.csv"), sheet)
        })
        .collect()
}

#[test]
fn a_backup_taken_while_another_kitlog_imports_passes_check() {
    const ROWS: usize = 1500;
    let kit = Kitlog::initialised();
    let sheets = big_sheets(&kit, 4, ROWS);
    let mut importers: Vec<_> = sheets
        .iter()
        .map(|sheet| {
            kit.process()
                .arg("import")
                .arg(sheet)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut backups = Vec::new();
    while backups.len() < 3
        || importers
            .iter_mut()
            .any(|c| c.try_wait().unwrap().is_none())
    {
        let name = format!("copy{}.db", backups.len());
        kit.run(&["backup", &name]).success();
        backups.push(name);
    }
    for importer in &mut importers {
        assert!(importer.wait().unwrap().success());
    }
    for name in &backups {
        kit.run(&["--db", name, "check"]).success();
        // Whole batches or none: a torn copy would hold part of one.
        let contacts: usize = sqlite3(&kit.path(name), "SELECT count(*) FROM contact")
            .trim()
            .parse()
            .unwrap();
        assert_eq!(contacts % ROWS, 0, "{name} holds part of a batch");
    }
}

#[test]
fn a_healthy_program_passes_check() {
    let kit = Kitlog::initialised();
    kit.run(&["check"]).success().stderr("").stdout(
        "ok: the file is intact and keeps all 13 rules of kitlog (schema 6); 0 batches, 0 contacts, 1 passphrase\n",
    );
    kit.import(&example("2026-11-20-downtown-van.csv"), &[])
        .success();
    kit.command()
        .arg("check")
        .assert()
        .success()
        .stdout(
            "ok: the file is intact and keeps all 13 rules of kitlog (schema 6); 1 batch, 45 contacts, 1 passphrase\n",
        );
}

#[test]
fn a_damaged_page_fails_check_and_the_backup_restores() {
    let kit = Kitlog::initialised();
    let sheets = big_sheets(&kit, 1, 400);
    kit.import(&sheets[0], &[]).success();
    kit.run(&["backup", "before.db"]).success();

    let pages = std::fs::metadata(kit.db()).unwrap().len() / 4096;
    assert!(pages >= 8, "only {pages} pages");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(kit.db())
        .unwrap();
    file.seek(SeekFrom::Start(pages / 2 * 4096)).unwrap();
    file.write_all(&[0x5a; 64]).unwrap();
    drop(file);
    kit.run(&["check"])
        .failure()
        .code(1)
        .stdout("")
        .stderr(DAMAGED);

    // Restoring is copying the backup and its key file into place.
    std::fs::copy(kit.path("before.db"), kit.db()).unwrap();
    std::fs::copy(kit.path("before.db.keys"), kit.path("program.db.keys")).unwrap();
    kit.run(&["check"]).success();
}

#[test]
fn a_broken_rule_is_named_without_any_value() {
    let kit = Kitlog::initialised();
    kit.import(&example("2026-11-20-downtown-van.csv"), &[])
        .success();
    kit.sql("UPDATE contact SET fiscal_year = 1987 WHERE id = 3");
    kit.run(&["check"]).failure().code(1).stdout("").stderr(
        "error: the program database breaks kitlog's rules (every contact's fiscal year is the one its day falls in under the program's fiscal calendar); it was changed outside kitlog: stop using it and restore the last backup (kitlog backup)\n",
    );

    kit.sql(
        "UPDATE contact SET fiscal_year = 2026 WHERE id = 3;
         UPDATE batch SET voided_on = '2026-11-21' WHERE id = 1;
         UPDATE program SET created_on = 'today';",
    );
    kit.run(&["check"]).failure().code(1).stdout("").stderr(
        "error: the program database breaks kitlog's rules (every void has both a reason and a day; every stored day is a calendar day written YYYY-MM-DD); it was changed outside kitlog: stop using it and restore the last backup (kitlog backup)\n",
    );
}

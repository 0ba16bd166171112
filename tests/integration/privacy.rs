//! One test per privacy rule of the README's privacy model (the invariants of the
//! product spec), named after it. Each would fail if the rule broke: they scan stored
//! bytes and every output for sentinels.

use std::fmt::Write as _;

use ring::digest;

use crate::harness::{Kitlog, contains};

/// Code inputs no real person would have, so a hit can only be a leak.
const SENTINELS: [&str; 3] = ["ZQXSENTINEL41", "QJVWATCHWORD77", "XKCDMARKER93"];

fn sentinel_sheet(kit: &Kitlog) -> std::path::PathBuf {
    let mut sheet = String::from("date,site,code,injection-kit,naloxone-nasal,naloxone_reason\n");
    for (i, sentinel) in SENTINELS.iter().enumerate() {
        for day in 10..15 {
            writeln!(
                sheet,
                "2026-11-{day},downtown-van,{sentinel},{},1,first",
                i + 1
            )
            .unwrap();
        }
    }
    kit.sheet("sentinels.csv", sheet)
}

/// Forms of a sentinel that would betray it: as typed, normalised, and unkeyed
/// SHA-256 and SHA-1 digests (raw bytes and hex) of both.
fn betraying_forms(sentinel: &str) -> Vec<Vec<u8>> {
    let mut forms = Vec::new();
    for text in [sentinel.to_owned(), sentinel.to_lowercase()] {
        forms.push(text.clone().into_bytes());
        for algorithm in [&digest::SHA256, &digest::SHA1_FOR_LEGACY_USE_ONLY] {
            let hash = digest::digest(algorithm, text.as_bytes());
            let bytes = hash.as_ref().to_vec();
            let hex = bytes.iter().fold(String::new(), |mut hex, b| {
                write!(hex, "{b:02x}").unwrap();
                hex
            });
            forms.push(bytes[..16].to_vec());
            forms.push(hex.into_bytes());
        }
    }
    forms
}

#[test]
fn invariant_1_no_raw_identifier_in_any_file_or_output() {
    let kit = Kitlog::initialised();
    let sheet = sentinel_sheet(&kit);
    let mut outputs = Vec::new();
    for args in [
        vec!["import", "sentinels.csv", "--dry-run"],
        vec!["import", "sentinels.csv"],
        vec!["import", "sentinels.csv"],
        vec!["batches"],
        vec!["void", "1", "--contact", "2", "--reason", "entry-error"],
    ] {
        let output = kit.command().args(&args).output().unwrap();
        outputs.extend(output.stdout);
        outputs.extend(output.stderr);
    }
    let stored = kit.readable_bytes();
    assert!(stored.len() > 4096, "the database was written");
    // Nothing but the database is left beside it: no journal, no temp file.
    assert_eq!(kit.files(), vec!["program.db", "program.db.keys"]);
    for sentinel in SENTINELS {
        for form in betraying_forms(sentinel) {
            assert!(!contains(&stored, &form), "a form of {sentinel} is stored");
            assert!(
                !contains(&outputs, &form),
                "a form of {sentinel} was printed"
            );
        }
    }
    drop(sheet);
}

#[test]
fn invariant_1_failing_commands_never_echo_a_code() {
    let kit = Kitlog::initialised();
    // Codes in every wrong place: a date cell, a site cell, a count cell, a reason
    // cell, as a header, as an email and phone-shaped code, too long, wrong passphrase.
    let cases = [
        "date,site,code,injection-kit\nZQXSENTINEL41,downtown-van,,1\n",
        "date,site,code,injection-kit\n2026-11-20,ZQXSENTINEL41,,1\n",
        "date,site,code,injection-kit\n2026-11-20,downtown-van,,ZQXSENTINEL41\n",
        "date,site,code,naloxone-nasal,naloxone_reason\n2026-11-20,downtown-van,,1,ZQXSENTINEL41\n",
        "date,site,ZQXSENTINEL41,injection-kit\n2026-11-20,downtown-van,,1\n",
        "ZQXSENTINEL41,downtown-van,,1\n",
        "date,site,code,injection-kit\n2026-11-20,downtown-van,ZQXSENTINEL41@example.org,1\n",
        "date,site,code,injection-kit\n2026-11-20,downtown-van,+1 604 555 0141,1\n",
        "date,site,code,injection-kit\n2026-11-20,downtown-van,ZQXSENTINEL41ZQXSENTINEL41ZQXSENTINEL41ZQXSENTINEL41ZQXSENTINEL41,1\n",
        "date,site,code,injection-kit\n2026-11-20,downtown-van,ZQXSENTINEL41,1,extra\n",
        "date,site,code,injection-kit\n2026-11-20,downtown-van,\"ZQXSENTINEL41\n",
    ];
    let before = kit.stored_bytes();
    for (i, case) in cases.iter().enumerate() {
        let sheet = kit.sheet(&format!("bad{i}.csv"), case);
        let output = kit.command().arg("import").arg(&sheet).output().unwrap();
        assert!(!output.status.success(), "case {i} was accepted");
        let printed = [output.stdout, output.stderr].concat();
        assert!(!printed.is_empty());
        for form in [
            &b"ZQXSENTINEL41"[..],
            b"zqxsentinel41",
            b"604 555",
            b"example.org",
        ] {
            assert!(
                !contains(&printed, form),
                "case {i} echoed the code: {}",
                String::from_utf8_lossy(&printed)
            );
        }
    }
    let wrong = kit
        .command()
        .env("KITLOG_PASSPHRASE", "not the passphrase")
        .arg("import")
        .arg(sentinel_sheet(&kit))
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    assert!(!contains(
        &[wrong.stdout, wrong.stderr].concat(),
        b"ZQXSENTINEL41"
    ));
    assert_eq!(
        kit.stored_bytes(),
        before,
        "a failed import changed the database"
    );
}

#[test]
fn invariant_2_codes_are_keyed_truncated_and_per_fiscal_year() {
    let kit = Kitlog::initialised();
    // One input in two fiscal years (April start): 2026-03-31 and 2026-04-01.
    let codes = imported_codes(
        &kit,
        "date,site,code,syringe\n2026-03-31,downtown-van,BLUEFOX77,1\n2026-04-01,downtown-van,BLUEFOX77,1\n",
    );
    assert_eq!(codes.len(), 2);
    assert!(codes.iter().all(|code| code.len() == 16), "128-bit codes");
    assert_ne!(codes[0], codes[1], "two fiscal years share a code");
    for form in betraying_forms("BLUEFOX77") {
        assert!(
            !codes
                .iter()
                .any(|code| contains(code, &form) || contains(&form, code))
        );
    }
}

#[test]
fn invariant_2_no_passphrase_or_key_on_disk_and_wrong_passphrase_writes_nothing() {
    let kit = Kitlog::initialised();
    let stored = kit.readable_bytes();
    assert!(!contains(&stored, crate::harness::PASSPHRASE.as_bytes()));
    // Every slot is stretched with Argon2id at 64 MiB.
    let keys = std::fs::read_to_string(kit.path("program.db.keys")).unwrap();
    for slot in keys.lines().skip(1) {
        assert!(slot.contains(",argon2id,65536,3,1,"), "{slot}");
    }
    let before = kit.stored_bytes();
    kit.command()
        .env("KITLOG_PASSPHRASE", "correct horse battery stapler")
        .arg("import")
        .arg(crate::harness::example("2026-11-16-downtown-van.csv"))
        .assert()
        .failure()
        .stderr("error: the passphrase does not open this program; nothing was saved\n");
    assert_eq!(kit.stored_bytes(), before);
}

#[test]
fn invariant_3_programs_with_one_passphrase_share_no_code() {
    let sheet = "date,site,code,syringe\n2026-11-20,downtown-van,BLUEFOX77,1\n2026-11-20,downtown-van,REDCROW12,1\n";
    let first = Kitlog::initialised();
    let second = Kitlog::initialised();
    let a = imported_codes(&first, sheet);
    let b = imported_codes(&second, sheet);
    assert_eq!((a.len(), b.len()), (2, 2));
    assert!(a.iter().all(|code| !b.contains(code)));
}

#[test]
fn invariant_3_spellings_of_one_input_are_one_participant() {
    let kit = Kitlog::initialised();
    let codes = imported_codes(
        &kit,
        "date,site,code,syringe\n2026-11-20,downtown-van,ab-12 x,1\n2026-11-20,downtown-van,AB12X,1\n2026-11-20,downtown-van, Ab.12.X ,1\n",
    );
    assert_eq!(codes.len(), 3);
    assert!(codes.iter().all(|code| *code == codes[0]));
}

#[test]
fn invariant_4_no_command_takes_a_code_as_an_argument() {
    let kit = Kitlog::initialised();
    for args in [
        vec!["import", "--code", "BLUEFOX77"],
        vec!["void", "1", "--code", "BLUEFOX77", "--reason", "test"],
    ] {
        kit.run(&args).failure().code(2);
    }
    // The help of every command lists no such option.
    for command in ["init", "site", "item", "import", "batches", "void"] {
        let help = kit.stdout(&[command, "--help"]);
        assert!(!help.contains("--code "), "{command} takes a code");
        assert!(
            !help.contains("--participant"),
            "{command} takes a participant"
        );
    }
}

#[test]
fn invariant_5_dates_are_days_and_places_come_from_the_catalogue() {
    let kit = Kitlog::initialised();
    kit.import(&crate::harness::example("2026-11-16-downtown-van.csv"), &[])
        .success();
    // Every stored date is exactly YYYY-MM-DD: no time of day anywhere.
    let dates = kit.sql(
        "SELECT day FROM contact UNION SELECT saved_on FROM batch UNION SELECT created_on FROM program",
    );
    for date in dates.lines() {
        assert_eq!(date.len(), 10, "{date}");
        assert!(chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok());
    }
    // A site that is not in the catalogue is refused, whatever it says.
    kit.import(
        &kit.sheet("s.csv", "date,site,syringe\n2026-11-20,corner of main and 5th,1\n"),
        &[],
    )
    .failure()
    .stderr(
        "error: line 2, column \"site\": no site of that name; see kitlog site list, or add it with kitlog site add\n\
         error: the shift sheet was not imported (1 problem); nothing was saved\n",
    );
    // No column of the schema is meant for personal data or free text.
    let columns = kit.sql(
        "SELECT m.name || '.' || p.name FROM sqlite_schema m, pragma_table_info(m.name) p WHERE m.type = 'table'",
    );
    assert!(columns.lines().count() > 30, "{columns}");
    for column in columns.lines() {
        let name = column.split('.').nth(1).unwrap();
        for word in [
            "note", "comment", "text", "dob", "birth", "phone", "email", "address", "gps", "lat",
            "lon", "raw",
        ] {
            assert!(
                !name.contains(word),
                "column {column} looks like personal data or free text"
            );
        }
    }
}

// Rule 6 (secure_delete) is tested where the connection is configured:
// `store::tests::invariant_6_erased_rows_leave_no_bytes_behind`, which also shows
// that without the pragma the bytes would linger.

/// Imports `sheet` into a program with no contacts yet and returns every code it
/// stored, in contact order.
fn imported_codes(kit: &Kitlog, sheet: &str) -> Vec<Vec<u8>> {
    kit.import(&kit.sheet("codes.csv", sheet), &[]).success();
    kit.blobs("SELECT hex(code) FROM contact WHERE code IS NOT NULL ORDER BY id")
}

//! `kitlog passphrase list|add|change|remove`: several passphrases, one program key,
//! codes unchanged; a wrong passphrase writes nothing; a removed slot leaves no trace.

use std::path::Path;

use assert_cmd::assert::Assert;

use crate::harness::{Kitlog, PASSPHRASE, contains, today};

const NEW: &str = "a brand new passphrase";
const SECOND: &str = "second worker passphrase";
const WRONG: &str = "not this program's passphrase";

/// `kitlog ARGS` with this current passphrase and, if given, this new one.
fn with(kit: &Kitlog, current: &str, new: Option<&str>, args: &[&str]) -> Assert {
    let mut command = kit.command();
    command.env("KITLOG_PASSPHRASE", current);
    if let Some(new) = new {
        command.env("KITLOG_NEW_PASSPHRASE", new);
    }
    command.args(args).assert()
}

/// Whether `passphrase` opens the program (a dry-run import writes nothing).
fn opens(kit: &Kitlog, passphrase: &str) -> bool {
    let probe = kit.sheet(
        "probe.csv",
        "date,site,code,injection-kit\n2026-11-09,downtown-van,,1\n",
    );
    kit.command()
        .env("KITLOG_PASSPHRASE", passphrase)
        .arg("import")
        .arg(probe)
        .arg("--dry-run")
        .output()
        .unwrap()
        .status
        .success()
}

/// Runs `sqlite3 DB SQL` (the command-line tool) and returns its output.
pub fn sqlite3(db: &Path, sql: &str) -> String {
    let output = std::process::Command::new("sqlite3")
        .arg(db)
        .arg(sql)
        .output()
        .expect("the sqlite3 command-line tool is installed");
    assert!(
        output.status.success(),
        "sqlite3 failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The bytes of a hex string as `hex()` prints it.
fn unhex(text: &str) -> Vec<u8> {
    let text = text.trim();
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn sealed_key(kit: &Kitlog, label: &str) -> Vec<u8> {
    let sealed = unhex(&sqlite3(
        &kit.db(),
        &format!("SELECT hex(sealed_key) FROM key_slot WHERE label = '{label}'"),
    ));
    assert_eq!(sealed.len(), 48);
    sealed
}

#[test]
fn codes_stay_the_same_across_a_passphrase_change() {
    let kit = Kitlog::initialised();
    let first = kit.sheet(
        "first.csv",
        "date,site,code,injection-kit\n2026-11-10,downtown-van,BLUEFOX77,1\n",
    );
    kit.import(&first, &[]).success();
    let old_sealed = sealed_key(&kit, "initial");

    with(&kit, PASSPHRASE, Some(NEW), &["passphrase", "change"])
        .success()
        .stdout(
            "changed passphrase initial; codes are unchanged, and the old passphrase no longer opens this file\n\
             note: copies of the file made before now (backups) still open with the old passphrase\n",
        )
        .stderr("");

    // The same participant, typed differently, later in the same fiscal year.
    let second = kit.sheet(
        "second.csv",
        "date,site,code,stem-pipe\n2026-11-12,downtown-van,bluefox-77,2\n",
    );
    with(&kit, NEW, None, &["import", "second.csv"]).success();
    let codes = sqlite3(&kit.db(), "SELECT hex(code) FROM contact ORDER BY id");
    let codes: Vec<&str> = codes.lines().collect();
    assert_eq!(codes.len(), 2);
    assert_eq!(codes[0].len(), 32, "16 bytes");
    assert_eq!(codes[0], codes[1], "the code changed with the passphrase");

    let third = kit.sheet(
        "third.csv",
        "date,site,code,stem-pipe\n2026-11-13,downtown-van,,2\n",
    );
    let before = kit.stored_bytes();
    kit.import(&third, &[])
        .failure()
        .code(1)
        .stderr("error: the passphrase does not open this program; nothing was saved\n");
    assert_eq!(kit.stored_bytes(), before);
    let stored = kit.stored_bytes();
    assert!(
        !contains(&stored, &old_sealed),
        "the old sealed key lingers"
    );
    for phrase in [PASSPHRASE, NEW] {
        assert!(
            !contains(&stored, phrase.as_bytes()),
            "a passphrase is stored"
        );
    }
    drop(second);
}

#[test]
fn added_passphrases_give_the_same_codes_and_removed_ones_leave_no_trace() {
    let kit = Kitlog::initialised();
    with(&kit, PASSPHRASE, Some(SECOND), &["passphrase", "add", "--label", "worker-jd"])
        .success()
        .stdout(
            "added passphrase worker-jd; 2 passphrases open this program now, all giving the same codes\n",
        );
    let listed = kit
        .command()
        .env_remove("KITLOG_PASSPHRASE")
        .args(["passphrase", "list"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(
        String::from_utf8(listed).unwrap(),
        format!(
            "label      set on\ninitial    {0}\nworker-jd  {0}\n",
            today()
        )
    );

    let one = kit.sheet(
        "one.csv",
        "date,site,code,injection-kit\n2026-11-10,downtown-van,RAVEN12,1\n",
    );
    let two = kit.sheet(
        "two.csv",
        "date,site,code,injection-kit\n2026-11-11,downtown-van,RAVEN12,3\n",
    );
    with(&kit, PASSPHRASE, None, &["import", "one.csv"]).success();
    with(&kit, SECOND, None, &["import", "two.csv"]).success();
    let codes = sqlite3(
        &kit.db(),
        "SELECT count(DISTINCT code), count(*) FROM contact",
    );
    assert_eq!(codes, "1|2\n");

    let sealed = sealed_key(&kit, "worker-jd");
    assert!(contains(&kit.stored_bytes(), &sealed));
    with(
        &kit,
        PASSPHRASE,
        None,
        &["passphrase", "remove", "--label", "worker-jd"],
    )
    .success()
    .stdout(
        "removed passphrase worker-jd; it no longer opens this file (1 passphrase left)\n\
             note: copies of the file made before now (backups) still open with it\n",
    );
    assert!(
        !contains(&kit.stored_bytes(), &sealed),
        "the removed slot's sealed key is still in the file"
    );
    assert_eq!(kit.files(), vec!["program.db"]);
    assert!(!opens(&kit, SECOND));
    assert!(opens(&kit, PASSPHRASE));
    drop((one, two));
}

#[test]
fn change_with_a_label_replaces_that_passphrase_only() {
    let kit = Kitlog::initialised();
    with(
        &kit,
        PASSPHRASE,
        Some(SECOND),
        &["passphrase", "add", "--label", "worker-jd"],
    )
    .success();
    with(&kit, PASSPHRASE, Some(NEW), &["passphrase", "change", "--label", "worker-jd"])
        .success()
        .stdout(
            "changed passphrase worker-jd; codes are unchanged, and the old passphrase no longer opens this file\n\
             note: copies of the file made before now (backups) still open with the old passphrase\n",
        );
    assert!(!opens(&kit, SECOND));
    assert!(opens(&kit, NEW));
    assert!(opens(&kit, PASSPHRASE));
}

#[test]
fn the_last_passphrase_cannot_be_removed() {
    let kit = Kitlog::initialised();
    let before = kit.stored_bytes();
    with(&kit, PASSPHRASE, None, &["passphrase", "remove", "--label", "initial"])
        .failure()
        .code(1)
        .stderr(
            "error: initial is the only passphrase of this program; add another (kitlog passphrase add) before removing it\n",
        );
    assert_eq!(kit.stored_bytes(), before);
    assert!(opens(&kit, PASSPHRASE));
}

#[test]
fn a_wrong_current_passphrase_writes_nothing() {
    let kit = Kitlog::initialised();
    with(
        &kit,
        PASSPHRASE,
        Some(SECOND),
        &["passphrase", "add", "--label", "worker-jd"],
    )
    .success();
    let before = kit.stored_bytes();
    for args in [
        &["passphrase", "add", "--label", "worker-xy"][..],
        &["passphrase", "change"],
        &["passphrase", "change", "--label", "initial"],
        &["passphrase", "remove", "--label", "initial"],
    ] {
        with(&kit, WRONG, Some(NEW), args)
            .failure()
            .code(1)
            .stdout("")
            .stderr("error: the passphrase does not open this program; nothing was saved\n");
    }
    assert_eq!(kit.stored_bytes(), before);
    assert_eq!(kit.files(), vec!["program.db"]);
}

#[test]
fn bad_labels_and_new_passphrases_are_refused_without_writing() {
    let kit = Kitlog::initialised();
    with(
        &kit,
        PASSPHRASE,
        Some(SECOND),
        &["passphrase", "add", "--label", "worker-jd"],
    )
    .success();
    let before = kit.stored_bytes();
    let cases: [(&[&str], Option<&str>, &str); 7] = [
        (
            &["passphrase", "add", "--label", "worker-jd"],
            Some(NEW),
            "error: there is already a passphrase labelled worker-jd; choose another label\n",
        ),
        (
            &["passphrase", "add", "--label", "Jane Doe"],
            Some(NEW),
            "error: a passphrase label is 1 to 24 lowercase letters, digits and dashes, starting with a letter (e.g. worker-jd)\n",
        ),
        (
            &["passphrase", "change", "--label", "nobody"],
            Some(NEW),
            "error: there is no passphrase labelled nobody; see kitlog passphrase list\n",
        ),
        (
            &["passphrase", "remove", "--label", "nobody"],
            None,
            "error: there is no passphrase labelled nobody; see kitlog passphrase list\n",
        ),
        (
            &["passphrase", "add", "--label", "worker-xy"],
            None,
            "error: a new passphrase is needed: run kitlog at a terminal, or set KITLOG_NEW_PASSPHRASE; nothing was saved\n",
        ),
        (
            &["passphrase", "add", "--label", "worker-xy"],
            Some(SECOND),
            "error: the new passphrase already opens this program; choose another; nothing was saved\n",
        ),
        (
            &["passphrase", "change"],
            Some("short"),
            "error: the passphrase must have at least 8 characters; nothing was created\n",
        ),
    ];
    for (args, new, expected) in cases {
        with(&kit, PASSPHRASE, new, args)
            .failure()
            .code(1)
            .stdout("")
            .stderr(expected);
    }
    assert_eq!(kit.stored_bytes(), before);
}

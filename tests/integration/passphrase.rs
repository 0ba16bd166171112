//! `kitlog passphrase list|add|change|remove`: several passphrases, one program key,
//! codes unchanged; a wrong passphrase writes nothing; a removed slot leaves no trace.

use assert_cmd::Command;

use crate::harness::{Kitlog, MADE_ON, PASSPHRASE, contains, today};

const NEW: &str = "a brand new passphrase";
const SECOND: &str = "second worker passphrase";
const WRONG: &str = "not this program's passphrase";

/// `kitlog ARGS` with this current passphrase and, if given, this new one.
fn with(kit: &Kitlog, current: &str, new: Option<&str>, args: &[&str]) -> Command {
    let mut command = kit.command();
    command.env("KITLOG_PASSPHRASE", current);
    if let Some(new) = new {
        command.env("KITLOG_NEW_PASSPHRASE", new);
    }
    command.args(args);
    command
}

/// A program that a second passphrase, `SECOND`, labelled worker-jd, opens too.
fn with_worker_jd() -> Kitlog {
    let kit = Kitlog::initialised();
    with(
        &kit,
        PASSPHRASE,
        Some(SECOND),
        &["passphrase", "add", "--label", "worker-jd"],
    )
    .assert()
    .success();
    kit
}

/// Writes `contents` as the sheet `name` and imports it, opening the program with
/// `passphrase`.
fn import_as(kit: &Kitlog, passphrase: &str, name: &str, contents: &str) {
    kit.sheet(name, contents);
    with(kit, passphrase, None, &["import", name])
        .assert()
        .success();
}

/// Whether `passphrase` opens the program (a dry-run import writes nothing).
fn opens(kit: &Kitlog, passphrase: &str) -> bool {
    let probe = kit.sheet(
        "probe.csv",
        "date,site,code,injection-kit\n2026-11-09,downtown-van,,1\n",
    );
    with(kit, passphrase, None, &["import"])
        .arg(probe)
        .arg("--dry-run")
        .output()
        .unwrap()
        .status
        .success()
}

/// The program key as the slot `label` seals it, in hex as the key file keeps it
/// (labels are unique: one row).
fn sealed_key(kit: &Kitlog, label: &str) -> Vec<u8> {
    let keys = std::fs::read_to_string(kit.path("program.db.keys")).unwrap();
    let row = keys
        .lines()
        .find(|row| row.starts_with(&format!("{label},")))
        .expect("a slot with that label");
    let sealed = row.split(',').nth(8).unwrap().as_bytes().to_vec();
    assert_eq!(sealed.len(), 96, "48 bytes in hex");
    sealed
}

#[test]
fn codes_stay_the_same_across_a_passphrase_change() {
    let kit = Kitlog::initialised();
    import_as(
        &kit,
        PASSPHRASE,
        "first.csv",
        "date,site,code,injection-kit\n2026-11-10,downtown-van,BLUEFOX77,1\n",
    );
    let old_sealed = sealed_key(&kit, "initial");

    with(&kit, PASSPHRASE, Some(NEW), &["passphrase", "change"])
        .assert()
        .success()
        .stdout(
            "changed passphrase initial; codes are unchanged, and the old passphrase no longer opens this file\n\
             note: copies of the file made before now (backups) still open with the old passphrase\n",
        )
        .stderr("");

    // The same participant, typed differently, later in the same fiscal year.
    import_as(
        &kit,
        NEW,
        "second.csv",
        "date,site,code,stem-pipe\n2026-11-12,downtown-van,bluefox-77,2\n",
    );
    let codes = kit.sql_as(NEW, "SELECT hex(code) FROM contact ORDER BY id");
    let codes: Vec<&str> = codes.lines().collect();
    assert_eq!(codes.len(), 2);
    assert_eq!(codes[0].len(), 32, "16 bytes");
    assert_eq!(codes[0], codes[1], "the code changed with the passphrase");

    let third = kit.sheet(
        "third.csv",
        "date,site,code,stem-pipe\n2026-11-13,downtown-van,,2\n",
    );
    kit.import_refused(
        &third,
        &[],
        "error: the passphrase does not open this program; nothing was saved\n",
    );
    let stored = kit.readable_bytes_as(NEW);
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
}

#[test]
fn added_passphrases_give_the_same_codes_and_removed_ones_leave_no_trace() {
    let kit = Kitlog::initialised();
    with(&kit, PASSPHRASE, Some(SECOND), &["passphrase", "add", "--label", "worker-jd"])
        .assert()
        .success()
        .stdout(
            "added passphrase worker-jd; 2 passphrases open this program now, all giving the same codes\n",
        );
    let listed = kit
        .command()
        .args(["passphrase", "list"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(
        String::from_utf8(listed).unwrap(),
        format!(
            "label      set on\ninitial    {MADE_ON}\nworker-jd  {0}\n",
            today()
        )
    );

    import_as(
        &kit,
        PASSPHRASE,
        "one.csv",
        "date,site,code,injection-kit\n2026-11-10,downtown-van,RAVEN12,1\n",
    );
    import_as(
        &kit,
        SECOND,
        "two.csv",
        "date,site,code,injection-kit\n2026-11-11,downtown-van,RAVEN12,3\n",
    );
    let codes = kit.sql("SELECT count(DISTINCT code), count(*) FROM contact");
    assert_eq!(codes, "1|2\n");

    let sealed = sealed_key(&kit, "worker-jd");
    assert!(contains(&kit.readable_bytes(), &sealed));
    with(
        &kit,
        PASSPHRASE,
        None,
        &["passphrase", "remove", "--label", "worker-jd"],
    )
    .assert()
    .success()
    .stdout(
        "removed passphrase worker-jd; it no longer opens this file (1 passphrase left)\n\
             note: copies of the file made before now (backups) still open with it, and give the\n\
             \x20 key of this file; to replace the key, remove with --rotate\n",
    );
    assert!(
        !contains(&kit.readable_bytes(), &sealed),
        "the removed slot's sealed key is still in the file"
    );
    assert_eq!(kit.files(), vec!["program.db", "program.db.keys"]);
    assert!(!opens(&kit, SECOND));
    assert!(opens(&kit, PASSPHRASE));
}

#[test]
fn change_with_a_label_replaces_that_passphrase_only() {
    let kit = with_worker_jd();
    with(&kit, PASSPHRASE, Some(NEW), &["passphrase", "change", "--label", "worker-jd"])
        .assert()
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
    kit.refused_by(
        &mut with(&kit, PASSPHRASE, None, &["passphrase", "remove", "--label", "initial"]),
        "error: initial is the only passphrase of this program; add another (kitlog passphrase add) before removing it\n",
    );
    assert!(opens(&kit, PASSPHRASE));
}

#[test]
fn a_wrong_current_passphrase_writes_nothing() {
    let kit = with_worker_jd();
    for args in [
        &["passphrase", "add", "--label", "worker-xy"][..],
        &["passphrase", "change"],
        &["passphrase", "change", "--label", "initial"],
        &["passphrase", "remove", "--label", "initial"],
    ] {
        kit.refused_by(
            &mut with(&kit, WRONG, Some(NEW), args),
            "error: the passphrase does not open this program; nothing was saved\n",
        );
    }
    assert_eq!(kit.files(), vec!["program.db", "program.db.keys"]);
}

#[test]
fn bad_labels_and_new_passphrases_are_refused_without_writing() {
    let kit = with_worker_jd();
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
            Some("sunshine1"),
            "error: that passphrase is too easy to guess: with a copy of the file, a guesser would find it within ten billion tries; choose four or more random words (like \"velvet orbit maple canyon\", but your own); nothing was saved\n",
        ),
    ];
    for (args, new, expected) in cases {
        kit.refused_by(&mut with(&kit, PASSPHRASE, new, args), expected);
    }
}

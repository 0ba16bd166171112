//! Several laptops, one program: enrolment, sealed bundles through a folder, merging,
//! forward-and-forget and close-year across devices, each through the real binary.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::harness::{Kitlog, contains, example};
use crate::report::{AFTER_THE_YEAR, SHEETS};

/// The worker's own passphrase, other than the coordinator's.
const WORKER_PASSPHRASE: &str = "purple elephant dancing quietly 42";

/// Enrols a laptop called `label` at `coordinator` and joins it; returns the worker's
/// program (its passphrase is [`WORKER_PASSPHRASE`]).
pub fn enrol(coordinator: &Kitlog, label: &str) -> Kitlog {
    let file = coordinator.path(&format!("{label}.kle"));
    let shown = coordinator.stdout(&["device", "add", label, "--out", file.to_str().unwrap()]);
    let one_time = one_time_passphrase(&shown);
    let worker = Kitlog::new().on(AFTER_THE_YEAR);
    worker
        .command()
        .env("KITLOG_PASSPHRASE", one_time.to_lowercase())
        .env("KITLOG_NEW_PASSPHRASE", WORKER_PASSPHRASE)
        .args(["device", "join"])
        .arg(&file)
        .assert()
        .success();
    worker
}

/// The passphrase `device add` shows, alone on its indented line.
fn one_time_passphrase(shown: &str) -> String {
    shown
        .lines()
        .find_map(|line| {
            let word = line.trim();
            (line.starts_with("    ") && word.len() == 23 && word.matches('-').count() == 3)
                .then(|| word.to_owned())
        })
        .unwrap_or_else(|| panic!("no one-time passphrase in: {shown}"))
}

/// `kitlog ARGS` on a worker's laptop (its own passphrase).
pub fn on_worker(worker: &Kitlog, args: &[&str]) -> assert_cmd::assert::Assert {
    worker
        .command()
        .env("KITLOG_PASSPHRASE", WORKER_PASSPHRASE)
        .args(args)
        .assert()
}

pub fn worker_stdout(worker: &Kitlog, args: &[&str]) -> String {
    String::from_utf8(
        on_worker(worker, args)
            .success()
            .get_output()
            .stdout
            .clone(),
    )
    .unwrap()
}

fn folder(dir: &TempDir) -> &str {
    dir.path().to_str().unwrap()
}

fn bundles(dir: &TempDir) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "klb"))
        .collect();
    files.sort();
    files
}

/// A coordinator with two enrolled laptops; the first worker adds north-route in the
/// field and imports three sheets, the second imports two.
fn program_of_three() -> (Kitlog, Kitlog, Kitlog) {
    let coordinator = Kitlog::initialised().on(AFTER_THE_YEAR);
    let (one, two) = (enrol(&coordinator, "van-2"), enrol(&coordinator, "drop-in"));
    on_worker(&one, &["site", "add", "north-route"]).success();
    for (index, sheet) in SHEETS.iter().enumerate() {
        let worker = if index % 2 == 0 { &one } else { &two };
        let path = worker.path(sheet);
        std::fs::copy(example(sheet), &path).unwrap();
        if *sheet == "2026-11-19-north-route.csv" && index % 2 == 1 {
            on_worker(&two, &["site", "add", "north-route"]).success();
        }
        on_worker(worker, &["import", path.to_str().unwrap()]).success();
    }
    (coordinator, one, two)
}

/// The same sheets imported on one laptop.
fn one_laptop() -> Kitlog {
    crate::report::with_examples()
}

#[test]
fn the_coordinators_reports_are_those_of_one_laptop_that_imported_every_sheet() {
    let (coordinator, one, two) = program_of_three();
    let up = TempDir::new().unwrap();
    on_worker(&one, &["send", folder(&up)]).success();
    on_worker(&two, &["send", folder(&up)]).success();
    assert_eq!(bundles(&up).len(), 2);
    // van-2 joined before drop-in was enrolled: drop-in's bundle in the shared folder
    // is not for it, and is passed over without alarm.
    let passed_over = worker_stdout(&one, &["receive", folder(&up)]);
    assert!(
        passed_over.starts_with("no bundles for this laptop"),
        "{passed_over}"
    );
    let received = coordinator.stdout(&["receive", folder(&up)]);
    assert!(received.contains("from van-2: 3 batches new"), "{received}");
    assert!(
        received.contains("from drop-in: 2 batches new"),
        "{received}"
    );

    let single = one_laptop();
    for args in [
        &["report", "--period", "month", "--by", "site,item"][..],
        &["report", "--period", "quarter", "--by", "site,category"][..],
        &[
            "report",
            "--period",
            "month",
            "--by",
            "site",
            "--min-cell",
            "1",
        ][..],
    ] {
        assert_eq!(coordinator.stdout(args), single.stdout(args), "{args:?}");
    }

    // Receiving again, or the bundles again in another order, changes nothing.
    let before = coordinator.sql(
        "SELECT count(*), sum(c.reversals), group_concat(hex(o.uid) || c.position || c.day, ',')
           FROM contact c JOIN batch_origin o ON o.batch_id = c.batch_id ORDER BY 1",
    );
    let again = coordinator.stdout(&["receive", folder(&up)]);
    assert!(again.contains("2 bundles already merged before"), "{again}");
    on_worker(&two, &["send", folder(&up)]).success();
    on_worker(&one, &["send", folder(&up)]).success();
    let third = coordinator.stdout(&["receive", folder(&up)]);
    assert!(third.contains("3 batches already here"), "{third}");
    assert_eq!(
        coordinator.sql(
            "SELECT count(*), sum(c.reversals), group_concat(hex(o.uid) || c.position || c.day, ',')
               FROM contact c JOIN batch_origin o ON o.batch_id = c.batch_id ORDER BY 1",
        ),
        before
    );
    // Each worker's newer bundle replaced its older one in the folder.
    assert_eq!(bundles(&up).len(), 2);
}

#[test]
fn invariant_9_a_worker_keeps_a_contact_only_until_the_coordinator_acknowledged_it() {
    let coordinator = Kitlog::initialised().on(AFTER_THE_YEAR);
    let worker = enrol(&coordinator, "van-2");
    let first = worker.path("first.csv");
    std::fs::copy(example(SHEETS[1]), &first).unwrap();
    on_worker(&worker, &["import", first.to_str().unwrap()]).success();
    let codes = worker.blobs_as(
        WORKER_PASSPHRASE,
        "SELECT hex(code) FROM contact WHERE code IS NOT NULL",
    );
    assert!(!codes.is_empty());
    let shared = TempDir::new().unwrap();
    on_worker(&worker, &["sync", folder(&shared)]).success();
    coordinator.run(&["sync", folder(&shared)]).success();

    // A sheet saved after the send is not acknowledged yet and stays.
    let second = worker.path("second.csv");
    std::fs::copy(example(SHEETS[4]), &second).unwrap();
    on_worker(&worker, &["import", second.to_str().unwrap()]).success();
    let received = worker_stdout(&worker, &["receive", folder(&shared)]);
    assert!(received.contains("they were erased here"), "{received}");
    let kept = worker.readable_bytes_as(WORKER_PASSPHRASE);
    // A person on both sheets keeps their code in the second one's contacts.
    let still_held = worker.blobs_as(
        WORKER_PASSPHRASE,
        "SELECT hex(code) FROM contact WHERE code IS NOT NULL",
    );
    let gone: Vec<_> = codes.iter().filter(|c| !still_held.contains(c)).collect();
    assert!(!gone.is_empty());
    for code in gone {
        assert!(
            !contains(&kept, code),
            "an acknowledged code is still on the worker"
        );
    }
    let status = worker_stdout(&worker, &["sync", "status"]);
    assert!(
        status.contains("waiting for the coordinator's acknowledgement: 1 batch"),
        "{status}"
    );
    on_worker(&worker, &["site", "retire", "downtown-van"])
        .failure()
        .stderr(predicates::str::contains(
            "retiring a site is done on the coordinator's laptop",
        ));
    // The sent sheet is listed as at the coordinator, and cannot be imported again.
    let listed = worker_stdout(&worker, &["batches"]);
    assert!(
        listed.contains("at the coordinator (erased here)"),
        "{listed}"
    );
    on_worker(&worker, &["import", first.to_str().unwrap()])
        .failure()
        .stderr(predicates::str::contains("already imported"));
    on_worker(
        &worker,
        &["void", "1", "--contact", "2", "--reason", "test"],
    )
    .failure()
    .stderr(predicates::str::contains("has reached the coordinator"));
    // Its report says it is not the program's.
    on_worker(&worker, &["report", "--period", "month"])
        .success()
        .stderr(predicates::str::contains("is not a release"));
    assert_eq!(
        worker
            .sql_as(WORKER_PASSPHRASE, "SELECT count(*) FROM release")
            .trim(),
        "0"
    );
}

#[test]
fn a_changed_cut_foreign_revoked_or_newer_bundle_is_refused_and_nothing_is_written() {
    let coordinator = Kitlog::initialised().on(AFTER_THE_YEAR);
    let worker = enrol(&coordinator, "van-2");
    let sheet = worker.path("sheet.csv");
    std::fs::copy(example(SHEETS[1]), &sheet).unwrap();
    on_worker(&worker, &["import", sheet.to_str().unwrap()]).success();
    let out = TempDir::new().unwrap();
    on_worker(&worker, &["send", folder(&out)]).success();
    let good = std::fs::read(&bundles(&out)[0]).unwrap();

    // Another program's laptop, with the same device labels.
    let stranger = Kitlog::initialised().on(AFTER_THE_YEAR);
    let foreign_worker = enrol(&stranger, "van-2");
    let foreign_out = TempDir::new().unwrap();
    on_worker(&foreign_worker, &["send", folder(&foreign_out)]).success();
    let foreign = std::fs::read(&bundles(&foreign_out)[0]).unwrap();

    let mut newer = good.clone();
    newer[5] += 1;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("a bit in the header", flip(&good, 40), "seal or signature"),
        (
            "a bit in the middle",
            flip(&good, good.len() * 4),
            "seal or signature",
        ),
        (
            "a bit of the signature",
            flip(&good, good.len() * 8 - 3),
            "seal or signature",
        ),
        (
            "cut short",
            good[..good.len() - 100].to_vec(),
            "seal or signature",
        ),
        ("another program's", foreign, "not enrolled"),
        ("a newer format", newer, "a newer kitlog made it"),
        ("not a bundle", b"hello".to_vec(), "not a kitlog bundle"),
    ];
    let before = coordinator.stored_bytes();
    for (what, bytes, reason) in cases {
        let dir = TempDir::new().unwrap();
        std::fs::write(dir.path().join("kitlog-00000000-000001.klb"), &bytes).unwrap();
        let assert = coordinator.run(&["receive", folder(&dir)]).failure();
        let output = assert.get_output();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains(reason), "{what}: {stdout}");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("the bundle could not be merged"),
            "{what}"
        );
        assert_eq!(
            coordinator.stored_bytes(),
            before,
            "{what}: the program changed"
        );
    }

    // Revoked: refused too, and the program is unchanged; the laptop is told.
    coordinator.run(&["device", "revoke", "van-2"]).success();
    let before = coordinator.stored_bytes();
    let assert = coordinator.run(&["receive", folder(&out)]).failure();
    assert!(String::from_utf8_lossy(&assert.get_output().stdout).contains("revoked on"));
    assert_eq!(coordinator.stored_bytes(), before);
    let down = TempDir::new().unwrap();
    coordinator.run(&["send", folder(&down)]).success();
    let told = worker_stdout(&worker, &["receive", folder(&down)]);
    assert!(
        told.contains("the coordinator revoked this laptop on 2027-04-15"),
        "{told}"
    );
    let status = worker_stdout(&worker, &["sync", "status"]);
    assert!(
        status.contains("the coordinator revoked this laptop on 2027-04-15"),
        "{status}"
    );
}

fn flip(bytes: &[u8], bit: usize) -> Vec<u8> {
    let mut changed = bytes.to_vec();
    changed[bit / 8] ^= 1 << (bit % 8);
    changed
}

#[test]
fn invariant_9_bundles_and_enrolment_files_hold_no_code_site_or_item_name_in_clear() {
    let coordinator = Kitlog::initialised().on(AFTER_THE_YEAR);
    let worker = enrol(&coordinator, "van-2");
    let sheet = worker.path("sheet.csv");
    std::fs::copy(example(SHEETS[1]), &sheet).unwrap();
    on_worker(&worker, &["import", sheet.to_str().unwrap()]).success();
    let codes = worker.blobs_as(
        WORKER_PASSPHRASE,
        "SELECT hex(code) FROM contact WHERE code IS NOT NULL",
    );
    let out = TempDir::new().unwrap();
    on_worker(&worker, &["send", folder(&out)]).success();
    coordinator.run(&["receive", folder(&out)]).success();
    coordinator.run(&["send", folder(&out)]).success();
    let mut files: Vec<Vec<u8>> = bundles(&out)
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    files.push(std::fs::read(coordinator.path("van-2.kle")).unwrap());
    let raw = std::fs::read_to_string(example(SHEETS[1])).unwrap();
    let raw_codes: Vec<&str> = raw
        .lines()
        .skip(1)
        .filter_map(|line| line.split(',').nth(2))
        .filter(|code| !code.is_empty())
        .collect();
    assert!(!raw_codes.is_empty());
    for bytes in &files {
        for name in [
            "downtown-van",
            "east-drop-in",
            "injection-kit",
            "naloxone-nasal",
            "SQLite format",
        ] {
            assert!(!contains(bytes, name.as_bytes()), "{name} in clear");
        }
        for code in &codes {
            assert!(!contains(bytes, code), "a stored code in clear");
        }
        for code in &raw_codes {
            assert!(!contains(bytes, code.as_bytes()), "a raw code");
        }
    }
}

#[test]
fn close_year_waits_for_every_laptop_and_reaches_the_workers() {
    let coordinator = Kitlog::initialised().on(AFTER_THE_YEAR);
    let worker = enrol(&coordinator, "van-2");
    let sheet = worker.path("sheet.csv");
    std::fs::copy(example(SHEETS[1]), &sheet).unwrap();
    coordinator
        .run(&["close-year", "FY2026-27", "--yes"])
        .failure()
        .stderr(predicates::str::contains(
            "not closed: van-2 has not sent a bundle made after 2027-03-31",
        ));
    // A sheet the worker saved, but which reaches the coordinator only after the close.
    on_worker(&worker, &["import", sheet.to_str().unwrap()]).success();
    let codes = worker.blobs_as(
        WORKER_PASSPHRASE,
        "SELECT hex(code) FROM contact WHERE code IS NOT NULL",
    );
    coordinator
        .run(&["close-year", "FY2026-27", "--yes", "--force"])
        .success()
        .stdout(predicates::str::contains(
            "closed with --force before van-2 sent",
        ));
    let shared = TempDir::new().unwrap();
    on_worker(&worker, &["send", folder(&shared)]).success();
    let merged = coordinator.stdout(&["sync", folder(&shared)]);
    assert!(
        merged.contains("1 batch (22 contacts) refused: their fiscal year is closed")
            || merged.contains("refused: their fiscal year is closed"),
        "{merged}"
    );
    assert_eq!(coordinator.sql("SELECT count(*) FROM contact").trim(), "0");
    let status = coordinator.stdout(&["sync", "status"]);
    assert!(
        status.contains("was refused: its fiscal year is closed"),
        "{status}"
    );

    let down = worker_stdout(&worker, &["receive", folder(&shared)]);
    assert!(
        down.contains("the coordinator closed the fiscal year starting 2026"),
        "{down}"
    );
    assert!(
        down.contains("the coordinator refused 42 contacts of a fiscal year it had closed"),
        "{down}"
    );
    let listed = worker_stdout(&worker, &["batches"]);
    assert!(listed.contains("refused by the coordinator"), "{listed}");
    let kept = worker.readable_bytes_as(WORKER_PASSPHRASE);
    for code in &codes {
        assert!(
            !contains(&kept, code),
            "a closed year's code is still on the worker"
        );
    }
    on_worker(&worker, &["close-year", "FY2025-26", "--yes"])
        .failure()
        .stderr(predicates::str::contains(
            "closing a year is done on the coordinator's laptop",
        ));
    on_worker(&worker, &["summary"])
        .failure()
        .stderr(predicates::str::contains(
            "a summary is done on the coordinator's laptop",
        ));
}

#[test]
fn voids_travel_up_and_down() {
    let coordinator = Kitlog::initialised().on(AFTER_THE_YEAR);
    let worker = enrol(&coordinator, "van-2");
    for (name, sheet) in [("a.csv", SHEETS[1]), ("b.csv", SHEETS[4])] {
        let path = worker.path(name);
        std::fs::copy(example(sheet), &path).unwrap();
        on_worker(&worker, &["import", path.to_str().unwrap()]).success();
    }
    on_worker(
        &worker,
        &["void", "2", "--contact", "1", "--reason", "entry-error"],
    )
    .success();
    let shared = TempDir::new().unwrap();
    on_worker(&worker, &["send", folder(&shared)]).success();
    coordinator.run(&["receive", folder(&shared)]).success();
    let voided = "SELECT count(*) FROM contact WHERE voided_reason IS NOT NULL";
    assert_eq!(coordinator.sql(voided).trim(), "1");
    // The coordinator voids a whole batch; the void reaches the worker, which still
    // holds that batch until its next acknowledgement arrives.
    coordinator
        .run(&["void", "1", "--reason", "duplicate"])
        .success();
    assert_eq!(
        coordinator
            .sql("SELECT count(*) FROM batch WHERE voided_reason = 'duplicate'")
            .trim(),
        "1"
    );
    coordinator.run(&["send", folder(&shared)]).success();
    let down = worker_stdout(&worker, &["receive", folder(&shared)]);
    assert!(down.contains("new void"), "{down}");
}

#[test]
fn a_wrong_one_time_passphrase_or_a_changed_file_writes_nothing() {
    let coordinator = Kitlog::initialised().on(AFTER_THE_YEAR);
    let file = coordinator.path("van-2.kle");
    let one_time = one_time_passphrase(&coordinator.stdout(&[
        "device",
        "add",
        "van-2",
        "--out",
        file.to_str().unwrap(),
    ]));
    let worker = Kitlog::new();
    let join = |passphrase: &str, path: &Path| {
        worker
            .command()
            .env("KITLOG_PASSPHRASE", passphrase)
            .env("KITLOG_NEW_PASSPHRASE", WORKER_PASSPHRASE)
            .args(["device", "join"])
            .arg(path)
            .assert()
    };
    join("AAAAA-AAAAA-AAAAA-AAAAA", &file)
        .failure()
        .stderr(predicates::str::contains(
            "does not open this enrolment file",
        ));
    let changed = worker.path("changed.kle");
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&changed, bytes).unwrap();
    join(&one_time, &changed)
        .failure()
        .stderr(predicates::str::contains(
            "is not a kitlog enrolment file, or it was changed",
        ));
    assert!(!worker.db().exists());
    join(&one_time, &file).success();
    coordinator
        .run(&["device", "add", "van-2"])
        .failure()
        .stderr(predicates::str::contains(
            "there is already a device called van-2",
        ));
    coordinator
        .run(&["device", "revoke", "coordinator"])
        .failure()
        .stderr(predicates::str::contains("cannot be revoked"));
}

#[test]
fn a_receive_killed_at_any_moment_leaves_the_coordinator_before_or_after() {
    use std::process::Stdio;
    use std::time::Instant;

    let coordinator = Kitlog::initialised().on(AFTER_THE_YEAR);
    let worker = enrol(&coordinator, "van-2");
    let sheet = crate::crash::synthetic_sheet(7, 4000);
    let path = worker.sheet("big.csv", &sheet.text);
    on_worker(&worker, &["import", path.to_str().unwrap()]).success();
    let up = TempDir::new().unwrap();
    on_worker(&worker, &["send", folder(&up)]).success();

    let files = ["program.db", "program.db.keys"];
    let keep = TempDir::new().unwrap();
    for file in files {
        std::fs::copy(coordinator.path(file), keep.path().join(file)).unwrap();
    }
    let restore = || {
        for file in files {
            std::fs::copy(keep.path().join(file), coordinator.path(file)).unwrap();
        }
    };
    let contacts = || -> u64 {
        coordinator
            .sql("SELECT count(*) FROM contact")
            .trim()
            .parse()
            .unwrap()
    };
    let started = Instant::now();
    coordinator.run(&["receive", folder(&up)]).success();
    let full = started.elapsed();
    assert_eq!(contacts(), sheet.contacts);
    restore();

    let mut killed = 0;
    for step in 1..=10 {
        let child = coordinator
            .process()
            .args(["receive", folder(&up)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        killed += usize::from(crate::crash::kill_after(
            child,
            full.mul_f64(f64::from(step) / 11.0),
        ));
        coordinator.run(&["check"]).success();
        let now = contacts();
        assert!(
            now == 0 || now == sheet.contacts,
            "a kill at {step}/11 of {full:?} left {now} contacts"
        );
        if now == sheet.contacts {
            restore();
        }
    }
    assert!(killed >= 5, "only {killed} kills ended a receive");
    // Whatever a kill left, receiving again lands every contact exactly once.
    coordinator.run(&["receive", folder(&up)]).success();
    coordinator.run(&["receive", folder(&up)]).success();
    assert_eq!(contacts(), sheet.contacts);
}

#[test]
fn one_sheet_on_two_laptops_and_an_item_of_another_category_are_kept_and_flagged() {
    let coordinator = Kitlog::initialised().on(AFTER_THE_YEAR);
    let (one, two) = (enrol(&coordinator, "van-1"), enrol(&coordinator, "van-2"));
    for worker in [&one, &two] {
        let path = worker.path("same.csv");
        std::fs::copy(example(SHEETS[1]), &path).unwrap();
        on_worker(worker, &["import", path.to_str().unwrap()]).success();
    }
    coordinator
        .run(&["item", "add", "foil", "--category", "other"])
        .success();
    on_worker(&one, &["item", "add", "foil", "--category", "smoking"]).success();
    let up = TempDir::new().unwrap();
    on_worker(&one, &["send", folder(&up)]).success();
    on_worker(&two, &["send", folder(&up)]).success();
    let merged = coordinator.stdout(&["receive", folder(&up)]);
    assert!(
        merged.contains("to review (kitlog sync status)"),
        "{merged}"
    );
    assert_eq!(coordinator.sql("SELECT count(*) FROM batch").trim(), "2");
    let listed = coordinator.stdout(&["batches"]);
    assert!(
        listed.contains("from van-1 (its batch 1)") && listed.contains("from van-2 (its batch 1)"),
        "{listed}"
    );
    let status = coordinator.stdout(&["sync", "status"]);
    assert!(
        status.contains("holds the same sheet as batch 1"),
        "{status}"
    );
    assert!(
        status.contains("van-1 has item foil in another category; this program's category is kept"),
        "{status}"
    );
    assert_eq!(
        coordinator
            .sql("SELECT category FROM item WHERE name = 'foil'")
            .trim(),
        "other"
    );
    // Receiving again raises nothing new.
    coordinator.run(&["receive", folder(&up)]).success();
    assert_eq!(
        coordinator.sql("SELECT count(*) FROM sync_flag").trim(),
        "2"
    );
}

/// Rows of an example sheet: its contacts.
fn contacts_in(sheet: &str) -> u64 {
    std::fs::read_to_string(example(sheet))
        .unwrap()
        .lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .count() as u64
}

#[test]
fn a_laptop_restored_from_a_backup_loses_nothing_and_is_flagged() {
    let coordinator = Kitlog::initialised().on(AFTER_THE_YEAR);
    let worker = enrol(&coordinator, "van-2");
    let import = |sheet: &str| {
        let path = worker.path(sheet);
        std::fs::copy(example(sheet), &path).unwrap();
        on_worker(&worker, &["import", path.to_str().unwrap()]).success();
    };
    import(SHEETS[1]);
    on_worker(
        &worker,
        &["backup", worker.path("saved.db").to_str().unwrap()],
    )
    .success();
    import(SHEETS[4]);
    let shared = TempDir::new().unwrap();
    on_worker(&worker, &["sync", folder(&shared)]).success();
    coordinator.run(&["sync", folder(&shared)]).success();
    on_worker(&worker, &["receive", folder(&shared)]).success();

    // The laptop is put back as it was before its first bundle: its next one has the
    // same number as the first, with other content.
    for (from, to) in [
        ("saved.db", "program.db"),
        ("saved.db.keys", "program.db.keys"),
    ] {
        std::fs::copy(worker.path(from), worker.path(to)).unwrap();
    }
    import(SHEETS[2]);
    on_worker(&worker, &["sync", folder(&shared)]).success();
    let merged = coordinator.stdout(&["receive", folder(&shared)]);
    assert!(merged.contains("1 batch new"), "{merged}");
    let all = contacts_in(SHEETS[1]) + contacts_in(SHEETS[4]) + contacts_in(SHEETS[2]);
    assert_eq!(
        coordinator.sql("SELECT count(*) FROM contact").trim(),
        all.to_string()
    );
    let status = coordinator.stdout(&["sync", "status"]);
    assert!(
        status.contains("sent bundle 1 twice with other content"),
        "{status}"
    );

    // Acknowledgements are by batch, not by bundle number: the laptop forgets only what
    // the coordinator really has, here everything.
    coordinator.run(&["send", folder(&shared)]).success();
    on_worker(&worker, &["receive", folder(&shared)]).success();
    assert_eq!(
        worker
            .sql_as(WORKER_PASSPHRASE, "SELECT count(*) FROM contact")
            .trim(),
        "0"
    );

    // A changed bundle under a number already merged is checked, not taken as known.
    let worker_id = worker.blobs_as(WORKER_PASSPHRASE, "SELECT hex(device) FROM this_device");
    let theirs = bundles(&shared)
        .into_iter()
        .map(|p| std::fs::read(p).unwrap())
        .find(|bytes| bytes[6..22] == worker_id[0][..])
        .unwrap();
    assert_eq!(theirs[22..30], 1u64.to_be_bytes());
    let forged = flip(&theirs, theirs.len() * 4);
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("kitlog-forged-000001.klb"), forged).unwrap();
    coordinator
        .run(&["receive", folder(&dir)])
        .failure()
        .stdout(predicates::str::contains(
            "seal or signature does not check",
        ));
}

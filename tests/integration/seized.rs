//! The seized laptop: one test per finding of the forensic review that issue 13
//! closes, each written as the person holding the laptop would check it.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::{
    Kitlog, PASSPHRASE, connect, contains, database_key, database_key_of, example, program_key,
};

/// A program with the example sheets saved, a release made, a passphrase added and
/// a backup taken: everything a seized laptop would hold.
fn busy_program() -> Kitlog {
    let kit = Kitlog::initialised().on("2027-04-15");
    kit.run(&["site", "add", "north-route"]).success();
    kit.run(&["worker", "add", "JD"]).success();
    for sheet in [
        "2026-10-28-east-drop-in.csv",
        "2026-11-16-downtown-van.csv",
        "2026-11-18-east-drop-in.csv",
        "2026-11-19-north-route.csv",
        "2026-11-20-downtown-van.csv",
    ] {
        kit.import(&example(sheet), &["--worker", "JD"]).success();
    }
    kit.run(&["report", "--period", "month", "--by", "site,item"])
        .success();
    kit.command()
        .env("KITLOG_NEW_PASSPHRASE", "harbour lantern copper meadow")
        .args(["passphrase", "add", "--label", "worker-cd"])
        .assert()
        .success();
    kit.run(&["backup", "copy.db"]).success();
    kit
}

/// Words any kitlog file would hold in clear if it were not encrypted: the schema,
/// the catalogue, the sites, the worker label, SQLite's own header.
const CLEAR_TEXT: &[&str] = &[
    "SQLite format 3",
    "CREATE TABLE",
    "contact_item",
    "naloxone",
    "injection-kit",
    "downtown-van",
    "east-drop-in",
    "north-route",
    "confiscated",
    "FY2026-27",
    "2026-11-20",
];

/// The 16-byte participant codes, read from the decrypted program.
fn stored_codes(kit: &Kitlog) -> Vec<Vec<u8>> {
    let codes = kit.blobs("SELECT DISTINCT hex(code) FROM contact WHERE code IS NOT NULL");
    assert!(codes.len() > 20, "the examples hold coded contacts");
    codes
}

/// Finding 7: the file alone gave per-person trails (days, sites, worker labels, the
/// order of a shift, naloxone reasons). Now the program file and its backup, read
/// without a passphrase, hold no schema, no catalogue, no dates, no labels and no
/// pseudonym: they are indistinguishable from random bytes of their size.
#[test]
fn the_file_alone_shows_nothing_but_its_size() {
    let kit = busy_program();
    let codes = stored_codes(&kit);
    for name in ["program.db", "copy.db"] {
        let bytes = std::fs::read(kit.path(name)).unwrap();
        for text in CLEAR_TEXT {
            assert!(!contains(&bytes, text.as_bytes()), "{name} holds {text}");
        }
        for code in &codes {
            assert!(!contains(&bytes, code), "{name} holds a participant code");
        }
        // Random bytes: every byte value about equally often (a plain SQLite file is
        // mostly zeros).
        let mut counts = [0usize; 256];
        for byte in &bytes {
            counts[usize::from(*byte)] += 1;
        }
        let expected = bytes.len() / 256;
        let most = *counts.iter().max().unwrap();
        assert!(
            most < expected * 2,
            "{name}: one byte value {most} times, {expected} expected"
        );
    }
    // The key files hold sealed keys, labels and days only.
    for name in ["program.db.keys", "copy.db.keys"] {
        let text = std::fs::read_to_string(kit.path(name)).unwrap();
        assert!(text.starts_with("label,created_on,kdf,"), "{text}");
        for word in CLEAR_TEXT {
            assert!(!text.contains(word), "{name} holds {word}");
        }
        assert!(!text.contains(PASSPHRASE));
    }
}

/// Finding 6: planted triggers kept every code `close-year` reported as erased while
/// `check` said ok. A file whose schema is not exactly kitlog's is refused on open,
/// by every command, before it does anything.
#[test]
fn a_planted_trigger_table_view_or_index_is_refused() {
    for plant in [
        "CREATE TABLE stat_cache (kind TEXT, n INTEGER)",
        "CREATE TRIGGER keep AFTER UPDATE OF code ON contact BEGIN SELECT 1; END",
        "CREATE VIEW trails AS SELECT code, day, site_id FROM contact",
        "CREATE INDEX contact_code_day ON contact (code, day)",
        "DROP INDEX batch_sheet_digest",
    ] {
        let kit = Kitlog::initialised();
        kit.import(&example("2026-11-20-downtown-van.csv"), &[])
            .success();
        kit.sql(plant);
        for args in [
            &["check"][..],
            &["close-year", "FY2026-27", "--yes"],
            &["batches"],
        ] {
            kit.refused(
                args,
                "error: the program file's structure was changed outside kitlog (an extra table, index, view or trigger), so kitlog does not trust it; restore the last backup\n",
            );
        }
    }
}

/// Writes `text` as the program's key file.
fn edit_key_file(kit: &Kitlog, edit: impl FnOnce(String) -> String) {
    let path = kit.path("program.db.keys");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, edit(text)).unwrap();
}

/// Finding 6: swapping two slots' labels made `passphrase remove --label worker-cd`
/// remove the coordinator's passphrase. A slot's label is bound into its seal now:
/// a relabelled slot opens for nobody, and nothing is removed.
#[test]
fn swapped_slot_labels_open_nothing_and_remove_nothing() {
    let kit = Kitlog::initialised();
    kit.command()
        .env("KITLOG_NEW_PASSPHRASE", "harbour lantern copper meadow")
        .args(["passphrase", "add", "--label", "worker-cd"])
        .assert()
        .success();
    edit_key_file(&kit, |text| {
        text.replace("\ninitial,", "\nSWAP,")
            .replace("\nworker-cd,", "\ninitial,")
            .replace("\nSWAP,", "\nworker-cd,")
    });
    let wrong = "error: the passphrase does not open this program; nothing was saved\n";
    for passphrase in [PASSPHRASE, "harbour lantern copper meadow"] {
        kit.refused_by(
            kit.command().env("KITLOG_PASSPHRASE", passphrase).args([
                "passphrase",
                "remove",
                "--label",
                "worker-cd",
            ]),
            wrong,
        );
    }
}

/// Finding 9: an iteration count of 4,294,967,295 hung kitlog, and a slot re-sealed
/// with 1 iteration was used silently. Costs outside sane bounds are refused at once,
/// both ways, before any passphrase is stretched.
#[test]
fn absurd_key_derivation_costs_are_refused_both_ways() {
    let damaged = |kit: &Kitlog| {
        format!(
            "error: the key file {} is damaged or was changed outside kitlog; copy it back from the backup\n",
            kit.path("program.db.keys").display()
        )
    };
    for (from, to) in [
        (",argon2id,65536,3,1,", ",argon2id,65536,4294967295,1,"),
        (",argon2id,65536,3,1,", ",argon2id,4294967295,3,1,"),
        (",argon2id,65536,3,1,", ",argon2id,8,1,1,"),
        (",argon2id,65536,3,1,", ",pbkdf2-sha256,0,1,0,"),
        (",argon2id,65536,3,1,", ",argon2id,65536,3,99,"),
    ] {
        let kit = Kitlog::initialised();
        edit_key_file(&kit, |text| {
            assert!(text.contains(from));
            text.replace(from, to)
        });
        let started = Instant::now();
        kit.refused(&["batches"], &damaged(&kit));
        assert!(started.elapsed() < Duration::from_secs(10), "{to} hung");
    }
}

/// Finding 8: Ctrl-C or SIGKILL during `backup` left a hidden temp copy holding most
/// of the codes. The copy is encrypted page by page as it is written now, so whatever
/// a killed backup leaves holds no clear text and no code.
#[test]
fn a_killed_backup_leaves_nothing_readable() {
    let kit = Kitlog::initialised();
    let mut sheet = String::from("date,site,code,injection-kit,stem-pipe\n");
    for row in 0..8_000 {
        writeln!(
            sheet,
            "2026-11-{:02},downtown-van,KILLTEST{row},1,2",
            row % 28 + 1
        )
        .unwrap();
    }
    kit.import(&kit.sheet("big.csv", sheet), &[]).success();
    let codes = kit.blobs("SELECT hex(code) FROM contact LIMIT 200");
    let mut leftovers = 0;
    for attempt in 0..10u64 {
        let target = format!("copy{attempt}.db");
        let mut child = kit
            .process()
            .args(["backup", &target])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        // Kill at different moments: during the unlock, the copy, the sync.
        std::thread::sleep(Duration::from_millis(120 + attempt * 25));
        let _ = child.kill();
        let _ = child.wait();
        for entry in std::fs::read_dir(kit.path("")).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if !(name.starts_with("copy") || name.starts_with(".kitlog-")) {
                continue;
            }
            leftovers += usize::from(name.starts_with(".kitlog-"));
            let bytes = std::fs::read(entry.path()).unwrap();
            for text in [
                "SQLite format 3",
                "downtown-van",
                "CREATE TABLE",
                "KILLTEST",
            ] {
                assert!(!contains(&bytes, text.as_bytes()), "{name} holds {text}");
            }
            for code in &codes {
                assert!(!contains(&bytes, code), "{name} holds a code");
            }
        }
    }
    // Not an assertion on timing: a fast machine may finish some backups first.
    eprintln!("{leftovers} temp files left by killed backups, none readable");
}

/// A program of an earlier kitlog: unencrypted, schema 3, its key slot (PBKDF2, the
/// old seal) in the file, made here by hand from the migrations and ring, with none
/// of kitlog's code. Returns its program key.
fn legacy_program(db: &Path, passphrase: &str) -> [u8; 32] {
    use ring::{aead, hmac, pbkdf2};
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let conn = connect(db, None);
    for (version, name) in [
        "0001_initial.sql",
        "0002_drop_contact_code_index.sql",
        "0003_release_ledger.sql",
    ]
    .iter()
    .enumerate()
    {
        conn.execute_batch(&std::fs::read_to_string(root.join(name)).unwrap())
            .unwrap();
        conn.pragma_update(None, "user_version", version as i64 + 1)
            .unwrap();
    }
    let program_key = [0x42u8; 32];
    let check = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, &program_key),
        b"kitlog key check",
    );
    conn.execute(
        "INSERT INTO program VALUES (1, 4, 5, NULL, ?1, '2025-06-01')",
        [check.as_ref()],
    )
    .unwrap();
    // The old seal: PBKDF2 (600,000 rounds) then AES-256-GCM of the program key itself.
    for (id, label, phrase) in [(1, "initial", passphrase), (2, "worker-jd", KEPT)] {
        let (salt, nonce) = ([7u8 + id; 16], [9u8 + id; 12]);
        let mut wrapping = [0u8; 32];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            std::num::NonZeroU32::new(600_000).unwrap(),
            &salt,
            phrase.as_bytes(),
            &mut wrapping,
        );
        let key =
            aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_256_GCM, &wrapping).unwrap());
        let mut sealed = program_key.to_vec();
        key.seal_in_place_append_tag(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(b"kitlog key slot v1"),
            &mut sealed,
        )
        .unwrap();
        conn.execute(
            "INSERT INTO key_slot VALUES (?1, ?2, ?3, 600000, ?4, ?5, '2025-06-01')",
            rusqlite::params![id, label, &salt[..], &nonce[..], sealed],
        )
        .unwrap();
    }
    conn.execute_batch(
        "INSERT INTO site (id, name) VALUES (1, 'downtown-van');
         INSERT INTO item (id, name, category, unit, alias) VALUES (1, 'syringe', 'injection', 'syringe', 'sy');
         INSERT INTO batch (id, saved_on, source, worker) VALUES (1, '2026-05-02', 'import', 'JD');
         INSERT INTO contact (id, batch_id, position, day, fiscal_year, site_id, code)
              VALUES (1, 1, 1, '2026-05-01', 2026, 1, x'00112233445566778899aabbccddeeff');
         INSERT INTO contact_item VALUES (1, 1, 10);",
    )
    .unwrap();
    program_key
}

/// A program made before encryption at rest is converted on its first unlock: the
/// file is encrypted in place, its slots move to the key file (the one that opened
/// it resealed with Argon2id, the other at its own next use), its contacts are all
/// there, and nothing of the old file's text is left in it.
#[test]
fn an_unencrypted_program_of_an_earlier_kitlog_is_encrypted_on_first_unlock() {
    let kit = Kitlog::new().on("2027-04-15");
    legacy_program(&kit.db(), PASSPHRASE);
    assert!(
        std::fs::read(kit.db())
            .unwrap()
            .starts_with(b"SQLite format 3\0")
    );
    // A wrong passphrase converts nothing.
    kit.refused_by(
        kit.command()
            .env("KITLOG_PASSPHRASE", "not the passphrase at all")
            .arg("batches"),
        "error: the passphrase does not open this program; nothing was saved\n",
    );
    kit.run(&["batches"]).success().stderr(format!(
        "note: {0} was unencrypted (made by an earlier kitlog) and is now encrypted; its passphrases are kept in {0}.keys beside it, so back up both\n",
        kit.db().display()
    ));
    let bytes = std::fs::read(kit.db()).unwrap();
    for text in ["SQLite format 3", "downtown-van", "CREATE TABLE"] {
        assert!(
            !contains(&bytes, text.as_bytes()),
            "{text} left in the file"
        );
    }
    assert!(!contains(
        &bytes,
        &[0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77]
    ));
    let keys = std::fs::read_to_string(kit.path("program.db.keys")).unwrap();
    assert!(
        keys.contains("\ninitial,2025-06-01,argon2id,65536,3,1,"),
        "{keys}"
    );
    assert_eq!(kit.sql("SELECT count(*) FROM contact"), "1\n");
    assert_eq!(
        kit.sql("SELECT name FROM sqlite_schema WHERE name = 'key_slot'"),
        ""
    );
    // Opened again: no second conversion, no note.
    kit.run(&["batches"]).success().stderr("");
    kit.run(&["check"]).success();
    assert_eq!(kit.files(), ["program.db", "program.db.keys"]);
}

/// The review carved a closed year's codes out of the free blocks of a real ext4
/// file system, from the deleted rollback journal of `close-year`. With the file and
/// its journal encrypted, the raw image holds none of them. Needs root and loop
/// devices (CI runs as root); elsewhere it says it did not run.
#[test]
fn a_closed_year_leaves_no_code_in_the_raw_disk_image() {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("not run: mounting a loop device needs root");
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let image = scratch.path().join("disk.img");
    let mount = scratch.path().join("mnt");
    std::fs::create_dir(&mount).unwrap();
    let run = |program: &str, args: &[&std::ffi::OsStr]| {
        let status = std::process::Command::new(program)
            .args(args)
            .status()
            .unwrap_or_else(|e| panic!("{program}: {e}"));
        assert!(status.success(), "{program} {args:?} failed");
    };
    let file = std::fs::File::create(&image).unwrap();
    file.set_len(64 << 20).unwrap();
    drop(file);
    run("mkfs.ext4", &["-q".as_ref(), image.as_os_str()]);
    run(
        "mount",
        &[
            "-o".as_ref(),
            "loop".as_ref(),
            image.as_os_str(),
            mount.as_os_str(),
        ],
    );
    let codes;
    {
        // Unmount however the test ends.
        struct Unmount(PathBuf);
        impl Drop for Unmount {
            fn drop(&mut self) {
                let _ = std::process::Command::new("umount").arg(&self.0).status();
            }
        }
        let _guard = Unmount(mount.clone());
        let db = mount.join("program.db");
        let kit = Kitlog::new().on("2027-04-15");
        let at = |args: &[&str]| {
            kit.command()
                .arg("--db")
                .arg(&db)
                .args(args)
                .assert()
                .success();
        };
        at(&["init"]);
        for site in ["downtown-van", "east-drop-in", "north-route"] {
            at(&["site", "add", site]);
        }
        for sheet in [
            "2026-11-16-downtown-van.csv",
            "2026-11-18-east-drop-in.csv",
            "2026-11-20-downtown-van.csv",
        ] {
            kit.command()
                .arg("--db")
                .arg(&db)
                .arg("import")
                .arg(example(sheet))
                .assert()
                .success();
        }
        let key = database_key(&db, PASSPHRASE);
        let conn = connect(&db, Some(&key));
        codes = conn
            .prepare("SELECT DISTINCT code FROM contact WHERE code IS NOT NULL")
            .unwrap()
            .query_map([], |row| row.get::<_, Vec<u8>>(0))
            .unwrap()
            .collect::<rusqlite::Result<Vec<_>>>()
            .unwrap();
        drop(conn);
        assert!(codes.len() > 20);
        at(&["close-year", "FY2026-27", "--yes"]);
    }
    let raw = std::fs::read(&image).unwrap();
    for code in &codes {
        assert!(!contains(&raw, code), "a closed year's code is on the disk");
    }
    for text in ["downtown-van", "CREATE TABLE", "SQLite format 3"] {
        assert!(!contains(&raw, text.as_bytes()), "{text} is on the disk");
    }
}

/// Finding 4: a SIGQUIT during `kitlog shift`, with core dumps allowed by the shell,
/// wrote the program key, the passphrase and a raw code to a core file. Now the
/// process turns core files off (a hard limit of 0) before it reads any secret.
#[test]
fn a_shift_killed_with_sigquit_leaves_no_core_file() {
    let kit = Kitlog::initialised();
    // The same environment as every test's kitlog, given to a shell that allows core
    // files (as systemd-coredump or apport set-ups do) and then becomes kitlog.
    let template = kit.process();
    let mut command = std::process::Command::new("sh");
    for (key, value) in template.get_envs() {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    let mut shift = command
        .env("KITLOG_BIN", env!("CARGO_BIN_EXE_kitlog"))
        .args(["-c", "ulimit -c unlimited && exec \"$KITLOG_BIN\" shift"])
        .current_dir(kit.path(""))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kitlog shift");
    let pid = shift.id();
    // Wait until kitlog (not the shell) runs and has hardened itself: it prints its
    // first prompt only after that.
    let mut stdout = shift.stdout.take().unwrap();
    let mut first = [0u8; 1];
    stdout.read_exact(&mut first).expect("kitlog shift prompts");
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let core = limits
        .lines()
        .find(|line| line.starts_with("Max core file size"))
        .expect("a core limit line");
    assert_eq!(
        core.split_whitespace().skip(4).take(2).collect::<Vec<_>>(),
        ["0", "0"],
        "{core}"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGQUIT,
    )
    .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = shift.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "kitlog did not stop"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success());
    let cores: Vec<_> = std::fs::read_dir(kit.path(""))
        .unwrap()
        .filter_map(|entry| {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            name.starts_with("core").then_some(name)
        })
        .collect();
    assert!(cores.is_empty(), "core files: {cores:?}");
}

/// The file is encrypted, so every command needs the passphrase now, listings and
/// reports too; without one, or with a wrong one, nothing is read and nothing written.
#[test]
fn every_command_needs_the_passphrase_and_a_wrong_one_writes_nothing() {
    let kit = Kitlog::initialised().on("2027-04-15");
    kit.import(&example("2026-11-20-downtown-van.csv"), &[])
        .success();
    let commands: [&[&str]; 15] = [
        &["site", "list"],
        &["site", "add", "north-route"],
        &["item", "list"],
        &["batches"],
        &["month", "2026-11"],
        &["void", "1", "--reason", "test"],
        &["report", "--period", "month"],
        &["summary"],
        &["releases"],
        &["check"],
        &["backup", "copy.db"],
        &["passphrase", "list"],
        &["close-year", "FY2026-27", "--yes"],
        &["shift", "--discard"],
        &["import", "--dry-run", "sheet.csv"],
    ];
    kit.sheet(
        "sheet.csv",
        "date,site,code,syringe\n2026-11-20,downtown-van,,1\n",
    );
    for args in commands {
        kit.refused_by(
            kit.command().env_remove("KITLOG_PASSPHRASE").args(args),
            "error: a passphrase is needed: run kitlog at a terminal, or set KITLOG_PASSPHRASE_FILE or KITLOG_PASSPHRASE\n",
        );
        kit.refused_by(
            kit.command()
                .env("KITLOG_PASSPHRASE", "not the passphrase at all")
                .args(args),
            "error: the passphrase does not open this program; nothing was saved\n",
        );
    }
}

/// The code of a lowercase code input in fiscal year `year` under `program_key`: the
/// year's key by HKDF-SHA256 (salt `kitlog epoch key v1`, info `fiscal year` and the
/// starting year, 4 bytes big-endian), then HMAC-SHA256 of the input, 16 bytes.
fn code_under(program_key: &[u8; 32], year: i32, input: &str) -> Vec<u8> {
    let prk =
        ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, b"kitlog epoch key v1").extract(program_key);
    let mut epoch = [0u8; 32];
    prk.expand(
        &[b"fiscal year ", &year.to_be_bytes()],
        ring::hkdf::HKDF_SHA256,
    )
    .unwrap()
    .fill(&mut epoch)
    .unwrap();
    let tag = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &epoch),
        input.as_bytes(),
    );
    tag.as_ref()[..16].to_vec()
}

const REVOKED: &str = "harbour lantern copper meadow";
const KEPT: &str = "quiet river amber falcon";

/// A program with two more passphrases, a coded contact, and an old backup.
fn before_rotation() -> Kitlog {
    let kit = Kitlog::initialised().on("2026-11-30");
    for (label, passphrase) in [("worker-cd", REVOKED), ("worker-jd", KEPT)] {
        kit.command()
            .env("KITLOG_NEW_PASSPHRASE", passphrase)
            .args(["passphrase", "add", "--label", label])
            .assert()
            .success();
    }
    kit.import(
        &kit.sheet(
            "a.csv",
            "date,site,code,syringe\n2026-11-20,downtown-van,bluefox77,1\n",
        ),
        &[],
    )
    .success();
    kit.run(&["backup", "old.db"]).success();
    kit
}

/// Finding 5: a removed passphrase, with any older copy of the file, gave the key of
/// the current file and of every future year. After `remove --rotate`, it opens
/// nothing saved since and makes no code of a later fiscal year, while this year's
/// codes stay the same and every other passphrase keeps working. Checked by an
/// attacker holding the old copy and the revoked passphrase, with none of kitlog's code.
#[test]
fn after_a_rotation_the_removed_passphrase_and_an_old_copy_open_nothing_new() {
    let kit = before_rotation();
    kit.run(&["passphrase", "remove", "--label", "worker-cd", "--rotate"])
        .success()
        .stdout(
            "removed passphrase worker-cd and replaced the program key (2 passphrases left); codes of FY2026-27 and earlier stay the same\n\
             note: the removed passphrase still opens copies of the file made before now (backups): destroy them\n",
        );
    assert_eq!(
        kit.files(),
        ["old.db", "old.db.keys", "program.db", "program.db.keys"]
    );
    // The attacker's key: the revoked passphrase opens the old copy.
    let old_key = program_key(&kit.path("old.db"), REVOKED).expect("the old copy opens");
    assert!(program_key(&kit.db(), REVOKED).is_none());
    let conn = connect(&kit.db(), Some(&database_key_of(&old_key)));
    assert!(
        conn.query_row("SELECT count(*) FROM contact", [], |row| row
            .get::<_, i64>(0))
            .is_err(),
        "the old key opens the rotated file"
    );
    drop(conn);
    // The other passphrases open it, and this year's code is the same as before.
    kit.command()
        .env("KITLOG_PASSPHRASE", KEPT)
        .arg("import")
        .arg(kit.sheet(
            "b.csv",
            "date,site,code,syringe\n2026-11-21,downtown-van,bluefox77,2\n",
        ))
        .assert()
        .success();
    assert_eq!(kit.sql("SELECT count(DISTINCT code) FROM contact"), "1\n");
    let this_year = kit.blobs("SELECT DISTINCT hex(code) FROM contact");
    assert_eq!(this_year, [code_under(&old_key, 2026, "bluefox77")]);
    // A later fiscal year: the old key's code is not the stored one.
    kit.command()
        .env("KITLOG_TODAY", "2027-06-01")
        .arg("import")
        .arg(kit.sheet(
            "c.csv",
            "date,site,code,syringe\n2027-05-10,downtown-van,bluefox77,1\n",
        ))
        .assert()
        .success();
    let later = kit.blobs("SELECT hex(code) FROM contact WHERE fiscal_year = 2027");
    assert_eq!(later.len(), 1);
    assert_ne!(later[0], code_under(&old_key, 2027, "bluefox77"));
    // The new key (from a kept passphrase) is the one that made it.
    let new_key = program_key(&kit.db(), KEPT).unwrap();
    assert_eq!(later[0], code_under(&new_key, 2027, "bluefox77"));
    kit.run(&["check"]).success();
}

/// A rotation cut short: after the file was re-encrypted but before its new key file
/// was renamed into place, the next kitlog finishes it; before the re-encryption, the
/// next kitlog throws the new key file away. Either way the program opens and the
/// removed passphrase does not.
#[test]
fn a_rotation_cut_short_is_finished_or_undone_on_the_next_open() {
    // Cut after the re-encryption: the new key file still has its temporary name.
    let kit = before_rotation();
    let old_keys = std::fs::read(kit.path("program.db.keys")).unwrap();
    kit.run(&["passphrase", "remove", "--label", "worker-cd", "--rotate"])
        .success();
    std::fs::rename(kit.path("program.db.keys"), kit.path("program.db.keys.new")).unwrap();
    std::fs::write(kit.path("program.db.keys"), &old_keys).unwrap();
    kit.run(&["batches"]).success();
    assert_eq!(
        kit.files(),
        ["old.db", "old.db.keys", "program.db", "program.db.keys"]
    );
    assert!(program_key(&kit.db(), REVOKED).is_none());
    kit.command()
        .env("KITLOG_PASSPHRASE", REVOKED)
        .arg("batches")
        .assert()
        .failure();

    // Cut before it: a new key file beside a file not yet re-encrypted.
    let kit = before_rotation();
    std::fs::write(kit.path("program.db.keys.new"), &old_keys).unwrap();
    kit.run(&["batches"]).success();
    assert_eq!(
        kit.files(),
        ["old.db", "old.db.keys", "program.db", "program.db.keys"]
    );
}

//! The `Kitlog` builder: a temp dir holding one program, and a cleaned environment
//! so that nothing from the developer's machine (HOME, KITLOG_*) leaks into a test.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use assert_cmd::assert::Assert;
use tempfile::TempDir;

/// The passphrase every test program is created with.
pub const PASSPHRASE: &str = "correct horse battery staple";

/// The day the tests' programs are made (`Kitlog::bare`): before every sheet of the
/// tests, however old, so that no import warns of a date long before the program.
pub const MADE_ON: &str = "2020-01-01";

/// A sheet in `examples/shifts/`, as a path from the package root.
pub fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/shifts")
        .join(name)
}

/// Today as the binary sees it, for output that shows the day of saving.
#[expect(
    clippy::disallowed_methods,
    reason = "the binary reads the same clock; tests compare against it"
)]
pub fn today() -> String {
    chrono::Local::now().date_naive().to_string()
}

/// One throwaway program directory.
pub struct Kitlog {
    dir: TempDir,
    /// The day the binary takes for today (`KITLOG_TODAY`, honoured by debug builds),
    /// or the clock's when `None`.
    today: Option<&'static str>,
}

impl Kitlog {
    /// An empty directory; no program yet.
    pub fn new() -> Self {
        Kitlog {
            dir: tempfile::tempdir().expect("a temp dir"),
            today: None,
        }
    }

    /// A program made by `kitlog init` alone: the seeded catalogue and no sites, for
    /// tests of the catalogue itself.
    ///
    /// The program is made on [`MADE_ON`], before any sheet of the tests: an import
    /// warns of dates long before the program existed.
    pub fn bare() -> Self {
        let kit = Kitlog::new();
        kit.command()
            .env("KITLOG_TODAY", MADE_ON)
            .arg("init")
            .assert()
            .success();
        kit
    }

    /// A program made by `kitlog init`, with the sites the example sheets use.
    pub fn initialised() -> Self {
        let kit = Kitlog::bare();
        kit.run(&["site", "add", "downtown-van"]).success();
        kit.run(&["site", "add", "east-drop-in"]).success();
        kit
    }

    /// From now on the binary takes `day` for today: reports leave out periods not
    /// over yet, so report tests pick a day after the example sheets' periods.
    pub fn on(mut self, day: &'static str) -> Self {
        self.today = Some(day);
        self
    }

    /// The program database.
    pub fn db(&self) -> PathBuf {
        self.dir.path().join("program.db")
    }

    /// A path inside the temp dir.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `kitlog` with a clean environment, `KITLOG_DB` and `KITLOG_PASSPHRASE` set.
    pub fn command(&self) -> Command {
        Command::from_std(self.process())
    }

    /// The same as [`Kitlog::command`], as a plain process (for spawning several).
    pub fn process(&self) -> std::process::Command {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_kitlog"));
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("KITLOG_") {
                command.env_remove(&key);
            }
        }
        command
            .env_remove("HOME")
            .env_remove("XDG_DATA_HOME")
            .env("NO_COLOR", "1")
            .env("KITLOG_DB", self.db())
            .env("KITLOG_PASSPHRASE", PASSPHRASE)
            .current_dir(self.dir.path());
        if let Some(day) = self.today {
            command.env("KITLOG_TODAY", day);
        }
        command
    }

    /// Runs `kitlog ARGS`.
    pub fn run(&self, args: &[&str]) -> Assert {
        self.command().args(args).assert()
    }

    /// Writes `contents` to a sheet in the temp dir and returns its path.
    pub fn sheet(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, contents).expect("write sheet");
        path
    }

    /// `kitlog import PATH EXTRA…`
    pub fn import(&self, path: &Path, extra: &[&str]) -> Assert {
        self.command().arg("import").arg(path).args(extra).assert()
    }

    /// Every byte kitlog keeps on disk for this program: the database, any journal or
    /// WAL beside it, and its key file.
    pub fn stored_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        for suffix in ["", "-journal", "-wal", "-shm", ".keys"] {
            let mut name = self.db().into_os_string();
            name.push(suffix);
            if let Ok(more) = std::fs::read(PathBuf::from(name)) {
                bytes.extend(more);
            }
        }
        bytes
    }

    /// What a holder of the passphrase can read of this program: the key file, and the
    /// database's whole content decrypted (exported by SQLCipher to a plain SQLite file
    /// elsewhere, with the key [`database_key`] works out independently). A privacy
    /// scan looks here, so that it checks what the file says to someone with the key,
    /// not only that its bytes look random. (The encrypted bytes themselves are left
    /// out: random bytes hold any short needle by chance. What they give away without
    /// a key is the seized-laptop tests' business.)
    pub fn readable_bytes(&self) -> Vec<u8> {
        self.readable_bytes_as(PASSPHRASE)
    }

    /// [`Kitlog::readable_bytes`] of a program that `passphrase` opens.
    pub fn readable_bytes_as(&self, passphrase: &str) -> Vec<u8> {
        let mut bytes = std::fs::read(self.path("program.db.keys")).expect("the key file");
        let scratch = tempfile::tempdir().expect("a temp dir");
        let plain = scratch.path().join("plain.db");
        let conn = connect(&self.db(), Some(&database_key(&self.db(), passphrase)));
        conn.execute(
            "ATTACH DATABASE ?1 AS plain KEY ''",
            [plain.to_str().expect("a UTF-8 path")],
        )
        .expect("attach a plain database");
        conn.query_row("SELECT sqlcipher_export('plain')", [], |_| Ok(()))
            .expect("export");
        conn.execute("DETACH DATABASE plain", []).expect("detach");
        drop(conn);
        let exported = std::fs::read(&plain).expect("the export");
        assert!(exported.starts_with(b"SQLite format 3\0"), "a plain export");
        bytes.extend(exported);
        bytes
    }

    /// Every file in the program directory other than the sheets the test wrote.
    pub fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path())
            .expect("read temp dir")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|name| {
                let extension = Path::new(name).extension().and_then(|e| e.to_str());
                !matches!(extension, Some("csv" | "txt"))
            })
            .collect();
        names.sort();
        names
    }

    /// The bytes of each blob `sql` selects as `hex(...)`, one row each: stored codes.
    pub fn blobs(&self, sql: &str) -> Vec<Vec<u8>> {
        self.blobs_as(crate::harness::PASSPHRASE, sql)
    }

    /// [`Kitlog::blobs`] of a program that `passphrase` opens.
    pub fn blobs_as(&self, passphrase: &str, sql: &str) -> Vec<Vec<u8>> {
        self.sql_as(passphrase, sql)
            .lines()
            .map(|hex| {
                (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex from sqlite3"))
                    .collect()
            })
            .collect()
    }

    /// Runs `args`, expects exit code 1 with exactly `stderr` and no stdout, and
    /// that nothing was written: a refused command leaves every byte of the database
    /// as it was, and no new file beside it (a refused `init` creates none).
    #[track_caller]
    pub fn refused(&self, args: &[&str], stderr: &str) {
        self.refused_by(self.command().args(args), stderr);
    }

    /// [`Kitlog::refused`] for a command built by hand: another passphrase or none,
    /// another `--db`.
    #[track_caller]
    pub fn refused_by(&self, command: &mut Command, stderr: &str) {
        let (before, files) = (self.stored_bytes(), self.files());
        command
            .assert()
            .failure()
            .code(1)
            .stdout("")
            .stderr(stderr.to_owned());
        // Not `assert_eq!`: the message would print the whole database twice.
        assert!(
            self.stored_bytes() == before,
            "{command:?} changed the database"
        );
        assert_eq!(self.files(), files, "{command:?} left files");
    }

    /// `kitlog import PATH EXTRA…`, refused: see [`Kitlog::refused`].
    #[track_caller]
    pub fn import_refused(&self, path: &Path, extra: &[&str], stderr: &str) {
        self.refused_by(self.command().arg("import").arg(path).args(extra), stderr);
    }

    /// Runs SQL on the program database, decrypted independently: see [`sqlite3`].
    #[track_caller]
    pub fn sql(&self, sql: &str) -> String {
        sqlite3(&self.db(), sql)
    }

    /// [`Kitlog::sql`] on a program that `passphrase` opens.
    #[track_caller]
    pub fn sql_as(&self, passphrase: &str, sql: &str) -> String {
        run_sql(&self.db(), Some(&database_key(&self.db(), passphrase)), sql)
    }

    /// Standard output of a successful `kitlog ARGS`.
    pub fn stdout(&self, args: &[&str]) -> String {
        let output = self.run(args).success().get_output().stdout.clone();
        String::from_utf8(output).expect("UTF-8 output")
    }
}

/// Whether `needle` occurs anywhere in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

/// Runs SQL on the program (or backup) at `db`, encrypted under the key the test
/// passphrase opens, and returns its output as the `sqlite3` shell prints it (one row
/// a line, `|` between columns, NULL as nothing). See [`database_key`].
#[track_caller]
pub fn sqlite3(db: &Path, sql: &str) -> String {
    let key = database_key(db, PASSPHRASE);
    run_sql(db, Some(&key), sql)
}

/// Runs SQL on an unencrypted SQLite file (an earlier kitlog's, or not a program).
#[track_caller]
pub fn plain_sql(db: &Path, sql: &str) -> String {
    run_sql(db, None, sql)
}

/// A connection of the tests' own to the file at `db`: encrypted under `key` (a
/// [`database_key`]), or a plain SQLite file with `None`.
#[expect(
    clippy::disallowed_methods,
    reason = "the tests read and write the file independently of kitlog's Store"
)]
pub fn connect(db: &Path, key: Option<&str>) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(db).expect("open the database");
    if let Some(key) = key {
        conn.pragma_update(None, "key", key).expect("PRAGMA key");
    }
    conn
}

#[track_caller]
fn run_sql(db: &Path, key: Option<&str>, sql: &str) -> String {
    let conn = connect(db, key);
    // Several statements: run them, print nothing (as the shell does for writes).
    if sql.trim_end().trim_end_matches(';').contains(';') {
        conn.execute_batch(sql).expect("SQL runs");
        return String::new();
    }
    let mut statement = conn.prepare(sql).expect("SQL prepares");
    let columns = statement.column_count();
    let mut rows = statement.raw_query();
    let mut out = String::new();
    while let Some(row) = rows.next().expect("SQL runs") {
        let values: Vec<String> = (0..columns)
            .map(|i| match row.get_ref(i).expect("a value") {
                rusqlite::types::ValueRef::Null => String::new(),
                rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                rusqlite::types::ValueRef::Real(x) => x.to_string(),
                rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                    String::from_utf8_lossy(t).into_owned()
                }
            })
            .collect();
        out.push_str(&values.join("|"));
        out.push('\n');
    }
    out
}

/// The SQLCipher key of the program at `db`, worked out from its key file and
/// `passphrase` as the README's "Key file" section describes it: [`program_key`],
/// then HKDF-SHA256 (salt and info both `kitlog database key v1`), passed to SQLCipher
/// as a raw key `x'…'`.
pub fn database_key(db: &Path, passphrase: &str) -> String {
    let program_key = program_key(db, passphrase)
        .unwrap_or_else(|| panic!("the passphrase opens no slot of {}", db.display()));
    database_key_of(&program_key)
}

/// The SQLCipher key for a program key: HKDF-SHA256 (salt and info both
/// `kitlog database key v1`), as a raw key `x'…'`.
pub fn database_key_of(program_key: &[u8; 32]) -> String {
    let info = b"kitlog database key v1";
    let prk = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, info).extract(program_key);
    let mut database_key = [0u8; 32];
    prk.expand(&[info], ring::hkdf::HKDF_SHA256)
        .unwrap()
        .fill(&mut database_key)
        .unwrap();
    let hex: Vec<String> = database_key.iter().map(|b| format!("{b:02x}")).collect();
    format!("x'{}'", hex.concat())
}

/// The program key the key file of `db` holds for `passphrase`, if a slot opens,
/// worked out with the argon2, x25519-dalek and ring crates directly: none of
/// kitlog's own code, so a test that reads the file through it reads what is really
/// on disk.
///
/// A row of `<db>.keys` is a slot. The passphrase stretched by Argon2id (the row's
/// memory, passes, lanes and salt) is an AES-256-GCM key that opens the row's sealed
/// key (with its nonce; associated data `kitlog key slot v2`, then the label, the
/// three costs as 4-byte big-endian numbers, the salt and the public key, each after
/// its 4-byte big-endian length): the slot's X25519 secret. The wrapped key is an
/// ephemeral public key, a nonce and a sealed program key: X25519 of the secret and
/// the ephemeral key, through HKDF-SHA256 (salt `kitlog key wrap v1`, info the two
/// public keys), opens it (associated data `kitlog key wrap v1`, then the label, the
/// slot's public key and the ephemeral key, each after its length).
pub fn program_key(db: &Path, passphrase: &str) -> Option<[u8; 32]> {
    let mut keys = db.as_os_str().to_owned();
    keys.push(".keys");
    let mut reader = csv::Reader::from_path(PathBuf::from(keys)).expect("a key file");
    let parts = |prefix: &[u8], parts: &[&[u8]]| {
        let mut out = prefix.to_vec();
        for part in parts {
            out.extend_from_slice(&u32::try_from(part.len()).unwrap().to_be_bytes());
            out.extend_from_slice(part);
        }
        out
    };
    let open = |key: &[u8], nonce: &[u8], aad: Vec<u8>, sealed: &[u8]| -> Option<[u8; 32]> {
        let key = ring::aead::LessSafeKey::new(
            ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, key).unwrap(),
        );
        let mut buffer = sealed.to_vec();
        let plain = key
            .open_in_place(
                ring::aead::Nonce::try_assume_unique_for_key(nonce).ok()?,
                ring::aead::Aad::from(aad),
                &mut buffer,
            )
            .ok()?;
        plain.try_into().ok()
    };
    for record in reader.records() {
        let record = record.expect("a key file row");
        let field = |i: usize| record.get(i).expect("a field").to_owned();
        let number = |i: usize| field(i).parse::<u32>().expect("a number");
        let hex = |i: usize| {
            let text = field(i);
            (0..text.len())
                .step_by(2)
                .map(|j| u8::from_str_radix(&text[j..j + 2], 16).expect("hex"))
                .collect::<Vec<u8>>()
        };
        let (label, kdf) = (field(0), field(2));
        let (memory, passes, lanes) = (number(3), number(4), number(5));
        let (salt, nonce, sealed, public, wrapped) = (hex(6), hex(7), hex(8), hex(9), hex(10));
        assert_eq!(kdf, "argon2id", "the tests' slots are all Argon2id");
        let mut stretched = [0u8; 32];
        argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon2::Params::new(memory, passes, lanes, Some(32)).expect("argon2 params"),
        )
        .hash_password_into(passphrase.as_bytes(), &salt, &mut stretched)
        .expect("argon2");
        let seal_aad = parts(
            b"kitlog key slot v2",
            &[
                label.as_bytes(),
                &memory.to_be_bytes(),
                &passes.to_be_bytes(),
                &lanes.to_be_bytes(),
                &salt,
                &public,
            ],
        );
        let Some(secret) = open(&stretched, &nonce, seal_aad, &sealed) else {
            continue;
        };
        let secret = x25519_dalek::StaticSecret::from(secret);
        let (ephemeral, rest) = wrapped.split_at(32);
        let (wrap_nonce, wrapped_key) = rest.split_at(12);
        let ephemeral: [u8; 32] = ephemeral.try_into().unwrap();
        let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(ephemeral));
        let prk = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, b"kitlog key wrap v1")
            .extract(shared.as_bytes());
        let mut wrapping = [0u8; 32];
        prk.expand(&[&ephemeral, &public], ring::hkdf::HKDF_SHA256)
            .unwrap()
            .fill(&mut wrapping)
            .unwrap();
        let wrap_aad = parts(
            b"kitlog key wrap v1",
            &[label.as_bytes(), &public, &ephemeral],
        );
        return Some(open(&wrapping, wrap_nonce, wrap_aad, wrapped_key).expect("a wrapped key"));
    }
    None
}

/// The last line of every refused shift sheet, for `count` problems.
pub fn not_imported(count: usize) -> String {
    let noun = if count == 1 { "problem" } else { "problems" };
    format!("error: the shift sheet was not imported ({count} {noun}); nothing was saved\n")
}

/// The whole stderr of a shift sheet refused for `problems`, each given without its
/// `error: `, so that a test lists the problems and not the framing around them.
pub fn refusal(problems: &[impl AsRef<str>]) -> String {
    let mut out = String::new();
    for problem in problems {
        out.push_str("error: ");
        out.push_str(problem.as_ref());
        out.push('\n');
    }
    out + &not_imported(problems.len())
}

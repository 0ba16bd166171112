//! The `Kitlog` builder: a temp dir holding one program, and a cleaned environment
//! so that nothing from the developer's machine (HOME, KITLOG_*) leaks into a test.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use assert_cmd::assert::Assert;
use tempfile::TempDir;

/// The passphrase every test program is created with.
pub const PASSPHRASE: &str = "correct horse battery staple";

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
    pub fn bare() -> Self {
        let kit = Kitlog::new();
        kit.run(&["init"]).success();
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

    /// Every byte kitlog keeps on disk for this program: the database and any
    /// journal or WAL beside it.
    pub fn stored_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        for suffix in ["", "-journal", "-wal", "-shm"] {
            let mut name = self.db().into_os_string();
            name.push(suffix);
            if let Ok(more) = std::fs::read(PathBuf::from(name)) {
                bytes.extend(more);
            }
        }
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
        self.sql(sql)
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

    /// Runs SQL on the program database with the machine's `sqlite3`: see [`sqlite3`].
    #[track_caller]
    pub fn sql(&self, sql: &str) -> String {
        sqlite3(&self.db(), sql)
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

/// Runs SQL on the database at `db` (the program's, a backup, any SQLite file) with the
/// machine's `sqlite3`, independently of kitlog's own code, and returns its output (one
/// row a line, `|` between columns).
#[track_caller]
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
    String::from_utf8(output.stdout).expect("UTF-8 from sqlite3")
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

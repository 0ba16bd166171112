//! The seized laptop: one test per finding of the forensic review that issue 13
//! closes, each written as the person holding the laptop would check it.

use std::io::Read as _;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::{Kitlog, example};

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
    let commands: [&[&str]; 14] = [
        &["site", "list"],
        &["site", "add", "north-route"],
        &["item", "list"],
        &["batches"],
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

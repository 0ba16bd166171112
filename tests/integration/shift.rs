//! `kitlog shift`: from a pipe (exact conversations) and through a real
//! pseudo-terminal (prompts, passphrase without echo, a killed session resumed).

use rexpect::process::Signal;
use rexpect::session::{PtySession, spawn_command};

use crate::harness::{Kitlog, PASSPHRASE, contains, today};

fn shift(kit: &Kitlog, args: &[&str], input: &str) -> assert_cmd::assert::Assert {
    kit.command()
        .arg("shift")
        .args(args)
        .write_stdin(input)
        .assert()
}

#[test]
fn a_piped_shift_is_saved_with_undo_and_confirm() {
    let kit = Kitlog::initialised();
    kit.run(&["worker", "add", "MK"]).success();
    kit.run(&["worker", "add", "JD"]).success();
    shift(
        &kit,
        &[],
        "2026-11-20\ndown\nJD\nBLUEFOX77 ik2 sp3 nn1 r1 first\n- sy10 ret25\nREDCROW12 bp\nundo\ntotal\ndone\ny\n",
    )
    .success()
    .stdout(
        "date of the shift [TODAY]: \n   1  downtown-van\n   2  east-drop-in\nsite (number or name): \n\
         \x20  1  JD\n   2  MK\nworker (number or label; Enter for none): \n\
         shift of 2026-11-20 at downtown-van, worker JD: one contact a line; help shows the shortcuts, done saves\n\
         contact 1> \n  kept 1 (code): injection-kit 2, stem-pipe 3, naloxone-nasal 1, reversals 1, reason first\n\
         contact 2> \n  kept 2 (anonymous): syringe 10, returned 25\n\
         contact 3> \n  kept 3 (code): bubble-pipe 1\n\
         contact 4> \n  removed contact 3\n\
         contact 3> \n  so far: 2 contacts (1 anonymous) at downtown-van on 2026-11-20\n\
         \x20 injection-kit 2, syringe 10, naloxone-nasal 1, stem-pipe 3; reversals 1, for others 0, returned 25\n\
         contact 3> \nabout to save 2 contacts (1 anonymous) at downtown-van on 2026-11-20\n\
         \x20 injection-kit 2, syringe 10, naloxone-nasal 1, stem-pipe 3; reversals 1, for others 0, returned 25\n\
         save 2 contacts? [y/N] \n\
         saved batch 1: 2 contacts (1 anonymous) at downtown-van on 2026-11-20\n\
         \x20 injection-kit 2, syringe 10, naloxone-nasal 1, stem-pipe 3; reversals 1, for others 0, returned 25\n"
            .replace("TODAY", &today()),
    );
    assert_eq!(
        kit.stdout(&["batches"]),
        format!(
            "batch  days        saved       source  sites         worker  contacts  items  status\n\
             1      2026-11-20  {}  shift   downtown-van  JD             2     16\n",
            today()
        )
    );
}

#[test]
fn bad_lines_are_explained_without_echo_and_nothing_is_lost() {
    let kit = Kitlog::initialised();
    let output = kit
        .command()
        .arg("shift")
        .write_stdin(
            "\n1\n\n- ZQXSENTINEL41 ik2\nZQXSENTINEL41@example.org ik1\nik2\nZQXSENTINEL41 ik1 used\nZQXSENTINEL41 ik1 nn1 used\nlist\n",
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(!stdout.contains("ZQXSENTINEL41") && !stdout.to_lowercase().contains("zqxsentinel41"));
    assert!(!stderr.to_lowercase().contains("zqxsentinel41"));
    let problems: Vec<&str> = stdout.lines().filter(|l| l.contains("problem:")).collect();
    assert_eq!(
        problems,
        [
            "  problem: word 2 is not a shortcut; type help for the list",
            "  problem: the code looks like an email address; never record one, use the program's code",
            "  problem: start the line with the participant's code, or - for an anonymous contact",
            "  problem: a naloxone reason is given but no naloxone item is on this line",
        ]
    );
    assert!(stdout.contains("  kept 1 (code): injection-kit 1, naloxone-nasal 1, reason used\n"));
    assert!(stdout.contains("    1 (code): injection-kit 1, naloxone-nasal 1, reason used\n"));
    assert_eq!(
        stderr,
        "error: the input ended before done; 1 contact typed so far is kept: kitlog shift --resume carries on\n"
    );
    assert!(!output.status.success());
    // The kept line is in the database, salted: the raw code is nowhere.
    let stored = kit.readable_bytes();
    assert!(!contains(&stored, b"ZQXSENTINEL41") && !contains(&stored, b"zqxsentinel41"));
}

#[test]
fn a_draft_stays_out_of_reports_until_resumed_and_saved() {
    let kit = Kitlog::initialised().on("2026-12-01");
    shift(&kit, &[], "2026-11-20\n2\n\nA1 ik2\nB2 sp1\n").failure();
    let report = kit.stdout(&["report", "--period", "month", "--min-cell", "1"]);
    assert!(!report.contains("\n2026-11,"), "{report}");
    assert_eq!(
        kit.stdout(&["batches"]),
        "no batches yet; import a shift sheet with kitlog import\n"
    );
    shift(&kit, &[], "").failure().stderr(
        "error: an unsaved shift is waiting; continue it with kitlog shift --resume, or throw it away with kitlog shift --discard\n",
    );
    shift(&kit, &["--resume"], "C3 ik1\nlist\ndone\ny\n")
        .success()
        .stdout(predicates::str::starts_with(
            "shift of 2026-11-20 at east-drop-in: one contact a line; help shows the shortcuts, done saves\n\
             resumed: 2 contacts kept so far\n\
             contact 3> \n  kept 3 (code): injection-kit 1\n\
             contact 4> \n    1 (code): injection-kit 2\n    2 (code): stem-pipe 1\n    3 (code): injection-kit 1\n",
        ));
    let report = kit.stdout(&[
        "report",
        "--period",
        "month",
        "--by",
        "site",
        "--min-cell",
        "1",
    ]);
    assert!(
        report.contains("\n2026-11,2026-11-01,2026-11-30,ALL,ALL,3,3,3,0,4,"),
        "{report}"
    );
    shift(&kit, &["--resume"], "")
        .failure()
        .stderr("error: there is no unsaved shift; start one with kitlog shift\n");
}

#[test]
fn quit_and_discard_throw_a_shift_away_only_when_asked() {
    let kit = Kitlog::initialised();
    shift(&kit, &[], "\n1\n\nA1 ik2\nquit\nn\nquit\ny\n")
        .success()
        .stdout(predicates::str::ends_with(
            "throw away the 1 contact typed in this shift? [y/N] \nkept; keep typing, or done to save\n\
             contact 2> \nthrow away the 1 contact typed in this shift? [y/N] \n\
             threw away 1 contact; nothing was saved\n",
        ));
    shift(&kit, &[], "\n1\n\nA1 ik2\n").failure();
    // Not without a yes.
    for answer in ["n\n", "no\n", "whatever\n"] {
        shift(&kit, &["--discard"], answer).success();
    }
    shift(&kit, &["--discard"], "").failure();
    shift(&kit, &["--discard"], "n\n").success().stdout(format!(
        "throw away the unsaved shift of {0} (1 contact)? [y/N] \n\
         kept the unsaved shift of {0} (1 contact); resume it with kitlog shift --resume\n",
        today()
    ));
    assert_eq!(kit.sql("SELECT count(*) FROM shift_draft"), "1\n");
    shift(&kit, &["--discard"], "y\n").success().stdout(format!(
        "throw away the unsaved shift of {0} (1 contact)? [y/N] \n\
         threw away the unsaved shift of {0} (1 contact); nothing was saved\n",
        today()
    ));
    assert!(!contains(&kit.readable_bytes(), b"A1"));
    shift(&kit, &[], "\n1\n\ndone\nquit\n")
        .success()
        .stdout(predicates::str::ends_with(
            "contact 1> \n  problem: nothing to save yet; type a contact, or quit\ncontact 1> \nthrew away 0 contacts; nothing was saved\n",
        ));
}

/// The date prompt takes what a tired worker types: a weekday (the most recent one),
/// a month and day; and says which forms it reads when it cannot read one.
#[test]
fn the_date_prompt_reads_weekdays_and_months() {
    // Monday 30 November 2026.
    let kit = Kitlog::initialised().on("2026-11-30");
    for (answer, day) in [
        ("Friday", "2026-11-27"),
        ("Nov 20", "2026-11-20"),
        ("20/11", "2026-11-20"),
    ] {
        shift(&kit, &[], &format!("{answer}\n1\n\n- sy1\ndone\ny\n"))
            .success()
            .stdout(predicates::str::contains(format!(
                "at downtown-van on {day}\n"
            )));
    }
    shift(&kit, &[], "someday\n").failure().stderr(
        "error: write the date as 2026-11-20, or today (Enter), yesterday, a weekday (friday), or a month and day (Nov 20, 20/11)\n",
    );
    shift(&kit, &[], "5/6\n").failure().stderr(
        "error: that date reads two ways (day/month or month/day); write it as 2026-11-20 or Nov 20\n",
    );
}

#[test]
fn a_script_with_a_wrong_answer_stops_and_writes_nothing() {
    let kit = Kitlog::initialised();
    let before = kit.stored_bytes();
    shift(&kit, &[], "2999-01-01\n").failure().stderr(format!(
        "error: the date is in the future (today is {})\n",
        today()
    ));
    shift(&kit, &[], "\nnowhere\n")
        .failure()
        .stderr("error: no site of that name or number\n");
    // A worker label comes from the coordinator's list, nothing else: a code typed
    // there was once stored in clear.
    for answer in ["Jane Doe", "MJ1985", "JD"] {
        shift(&kit, &[], &format!("\n1\n{answer}\n"))
            .failure()
            .stderr("error: no worker of that label or number; press Enter for none\n");
    }
    kit.command()
        .env("KITLOG_PASSPHRASE", "not the passphrase")
        .arg("shift")
        .write_stdin("\n1\n\nA1 ik1\ndone\ny\n")
        .assert()
        .failure()
        .stderr("error: the passphrase does not open this program; nothing was saved\n");
    assert_eq!(kit.stored_bytes(), before);
}

/// `kitlog shift` in a pseudo-terminal, as a worker would run it.
fn terminal(kit: &Kitlog, args: &[&str]) -> PtySession {
    let mut command = kit.process();
    command.arg("shift").args(args);
    spawn_command(command, Some(20_000)).expect("spawn kitlog in a pty")
}

#[test]
fn a_full_shift_at_a_terminal() {
    let kit = Kitlog::initialised();
    kit.run(&["worker", "add", "MK"]).success();
    let mut pty = terminal(&kit, &[]);
    let mut transcript = String::new();
    let mut step = |pty: &mut PtySession, expect: &str, send: &str| {
        transcript.push_str(&pty.exp_string(expect).expect(expect));
        transcript.push_str(expect);
        pty.send_line(send).unwrap();
    };
    step(&mut pty, "Passphrase: ", PASSPHRASE);
    step(&mut pty, "date of the shift", "");
    step(&mut pty, "site (number or name): ", "east");
    step(&mut pty, "Enter for none): ", "mk");
    step(&mut pty, "contact 1> ", "ZQXSENTINEL41 ik2 nn1 conf");
    step(&mut pty, "contact 2> ", "ZQXSENTINEL41 zz9");
    step(&mut pty, "contact 2> ", "- sy20");
    step(&mut pty, "contact 3> ", "undo");
    step(&mut pty, "contact 2> ", "done");
    step(&mut pty, "[y/N] ", "y");
    transcript.push_str(&pty.exp_string("saved batch 1").unwrap());
    transcript.push_str(&pty.exp_eof().unwrap());
    // rexpect turns the terminal's own echo off, so everything in the transcript was
    // written by kitlog: the passphrase is never printed back, and the code only by
    // the line editor while it is being typed, on the prompt's own line.
    assert!(!transcript.contains(PASSPHRASE), "{transcript}");
    assert_code_only_as_typed(
        &transcript,
        "zqxsentinel41",
        &["ZQXSENTINEL41 ik2 nn1 conf", "ZQXSENTINEL41 zz9"],
    );
    assert!(
        transcript.contains("kept 1 (code): injection-kit 2, naloxone-nasal 1, reason confiscated")
    );
    assert!(transcript.contains("problem: word 2 is not a shortcut"));
    assert_eq!(kit.stdout(&["batches"]).lines().count(), 2);
}

#[test]
fn a_shift_killed_at_a_terminal_is_resumed() {
    let kit = Kitlog::initialised();
    let mut pty = terminal(&kit, &[]);
    for (expect, send) in [
        ("Passphrase: ", PASSPHRASE),
        ("date of the shift", ""),
        ("site (number or name): ", "1"),
        ("Enter for none): ", ""),
        ("contact 1> ", "A1 ik2"),
        ("contact 2> ", "B2 sp1 r1"),
    ] {
        pty.exp_string(expect).expect(expect);
        pty.send_line(send).unwrap();
    }
    pty.exp_string("contact 3> ").unwrap();
    // A dead battery: no chance to clean up.
    pty.process_mut().kill(Signal::SIGKILL).unwrap();
    shift(&kit, &["--resume"], "list\ndone\ny\n")
        .success()
        .stdout(predicates::str::contains(
            "resumed: 2 contacts kept so far\ncontact 3> \n    1 (code): injection-kit 2\n    2 (code): stem-pipe 1, reversals 1\n",
        ))
        .stdout(predicates::str::contains("saved batch 1: 2 contacts (0 anonymous) at downtown-van"));
}

/// Every piece of terminal output (split at line ends and carriage returns, escape
/// sequences removed) that shows `code` is the line editor drawing one of the lines
/// typed (`typed`), whole or in part, after its prompt: kitlog itself never prints
/// a code back.
fn assert_code_only_as_typed(transcript: &str, code: &str, typed: &[&str]) {
    let plain = strip_escapes(transcript).to_lowercase();
    let mut shown = 0;
    for piece in plain.split(['\r', '\n']) {
        if piece.contains(code) {
            let drawn = piece.split_once("> ").map_or(piece, |(_, after)| after);
            assert!(
                typed
                    .iter()
                    .any(|line| line.to_lowercase().starts_with(drawn.trim_end())),
                "code outside the line being typed: {piece:?}"
            );
            shown += 1;
        }
    }
    assert!(
        shown > 0,
        "the editor never showed the line being typed: {plain:?}"
    );
}

/// `transcript` without ANSI escape sequences (CSI: ESC [ parameters final-byte).
fn strip_escapes(transcript: &str) -> String {
    let mut plain = String::new();
    let mut chars = transcript.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            continue;
        }
        plain.push(c);
    }
    plain
}

//! `kitlog shift` as tired people type: forgiving lines, stray words, a line editor
//! at a terminal (arrows, Home/End, Up for earlier lines), and Ctrl-C.

use rexpect::session::{PtySession, spawn_command};

use crate::harness::{Kitlog, PASSPHRASE};

/// `kitlog shift ARGS` with `input` piped: standard output, standard error, success.
fn piped_shift(kit: &Kitlog, args: &[&str], input: &str) -> (String, String, bool) {
    let output = kit
        .command()
        .arg("shift")
        .args(args)
        .write_stdin(input)
        .output()
        .expect("kitlog runs");
    (
        String::from_utf8(output.stdout).expect("UTF-8"),
        String::from_utf8(output.stderr).expect("UTF-8"),
        output.status.success(),
    )
}

/// Spaces before counts, commas, items run together, full names and the program's
/// own words are all read, and the kept line says what was understood.
#[test]
fn forgiving_lines_say_what_was_understood() {
    let kit = Kitlog::initialised();
    kit.run(&["item", "alias", "naloxone-nasal", "narcan"])
        .success();
    let (stdout, stderr, saved) = piped_shift(
        &kit,
        &[],
        "\n1\n\n\
         - ik 2, sy10\n\
         - ik2sy10\n\
         A1 syringe10 injection-kit 2\n\
         -ik2\n\
         B2 narcan first, reversals 1\n\
         C3 Sy 5,SP2\n\
         save\ny\n",
    );
    assert!(saved, "{stderr}");
    for kept in [
        "  kept 1 (anonymous): injection-kit 2, syringe 10\n",
        "  kept 2 (anonymous): injection-kit 2, syringe 10\n",
        "  kept 3 (code): syringe 10, injection-kit 2\n",
        "  kept 4 (anonymous): injection-kit 2\n",
        "  kept 5 (code): naloxone-nasal 1, reversals 1, reason first\n",
        "  kept 6 (code): syringe 5, stem-pipe 2\n",
        "saved batch 1: 6 contacts (3 anonymous)",
    ] {
        assert!(stdout.contains(kept), "missing {kept:?} in\n{stdout}");
    }
    assert!(!stdout.contains("problem:"), "{stdout}");
    assert_eq!(kit.sql("SELECT count(*) FROM contact"), "6\n");
    assert_eq!(
        kit.sql("SELECT sum(quantity) FROM contact_item"),
        "46\n",
        "2+10 + 2+10 + 10+2 + 2 + 1 + 5+2"
    );
}

/// `y`, `ls`, `total:` and a lone word were each once kept as a participant with
/// nothing handed out. Commands are read with their stray punctuation, answers with
/// no question are refused, and a code alone is kept only when the worker says so.
/// A line with an escape character is refused whole.
#[test]
fn stray_words_are_not_kept_as_participants() {
    let kit = Kitlog::initialised();
    let (stdout, _, saved) = piped_shift(
        &kit,
        &[],
        "\n1\n\n\
         - ik2\n\
         y\n\
         ls\n\
         total:\n\
         REDCRW12\nn\n\
         C3\ny\n\
         - sy2\x1b[D\x1b[D\n\
         Done.\ny\n",
    );
    assert!(saved);
    let problems: Vec<&str> = stdout.lines().filter(|l| l.contains("problem:")).collect();
    assert_eq!(
        problems,
        [
            "  problem: nothing was asked; type a contact, or done to save",
            "  problem: the line holds a control character (an arrow or function key, say); nothing was kept, type it again",
        ]
    );
    assert!(stdout.contains("contact 2> \n    1 (anonymous): injection-kit 2\n"));
    assert!(stdout.contains("  so far: 1 contact (1 anonymous)"));
    assert!(stdout.contains(
        "  this line is a code and nothing else; keep it as a visit with no supplies? [y/N] \n  not kept\n"
    ));
    assert!(stdout.contains("  kept 2 (code)\n"), "{stdout}");
    assert!(stdout.contains("saved batch 1: 2 contacts (1 anonymous)"));
    assert_eq!(kit.sql("SELECT count(*) FROM contact"), "2\n");
}

/// `kitlog shift` in a pseudo-terminal, past its opening questions.
fn at_the_first_contact(kit: &Kitlog, args: &[&str]) -> PtySession {
    let mut command = kit.process();
    command.arg("shift").args(args);
    let mut pty = spawn_command(command, Some(20_000)).expect("spawn kitlog in a pty");
    for (expect, send) in [
        ("Passphrase: ", PASSPHRASE),
        ("date of the shift", ""),
        ("site (number or name): ", "1"),
        ("Enter for none): ", ""),
    ] {
        pty.exp_string(expect).expect(expect);
        pty.send_line(send).expect("send");
    }
    pty
}

const LEFT: &str = "\x1b[D";
const RIGHT: &str = "\x1b[C";
const UP: &str = "\x1b[A";
const HOME: &str = "\x1b[H";
const END: &str = "\x1b[F";
const BACKSPACE: &str = "\x7f";

/// Keys as at any prompt: a typo fixed with the arrows gives the same code as the
/// code typed right, Home and End move to the ends, Up brings back a refused line to
/// mend, and no escape sequence ever reaches a saved contact.
#[test]
fn the_line_editor_mends_lines_as_any_prompt_does() {
    let kit = Kitlog::initialised();
    let mut pty = at_the_first_contact(&kit, &[]);
    let type_line = |pty: &mut PtySession, prompt: &str, keys: &str, kept: &str| {
        pty.exp_string(prompt).expect(prompt);
        // Enter as a terminal sends it; `send` alone is buffered until a flush.
        pty.send(&format!("{keys}\r")).expect("keys");
        pty.flush().expect("flush");
        pty.exp_string(kept).expect(kept);
    };
    // REDCRW12 ik2, then back to the start and five to the right, then the O.
    let fixed = format!("REDCRW12 ik2{HOME}{RIGHT}{RIGHT}{RIGHT}{RIGHT}{RIGHT}O");
    type_line(
        &mut pty,
        "contact 1> ",
        &fixed,
        "kept 1 (code): injection-kit 2",
    );
    type_line(
        &mut pty,
        "contact 2> ",
        "REDCROW12 sp1",
        "kept 2 (code): stem-pipe 1",
    );
    // The dash forgotten: Home puts it in front, End goes back to add an item.
    let home_end = format!("sy3 ik2{HOME}- {END} bp1");
    type_line(
        &mut pty,
        "contact 3> ",
        &home_end,
        "kept 3 (anonymous): syringe 3, injection-kit 2, bubble-pipe 1",
    );
    // A k typed before the i: two to the left of the 2, then the i.
    let left = format!("- k2{LEFT}{LEFT}i");
    type_line(
        &mut pty,
        "contact 4> ",
        &left,
        "kept 4 (anonymous): injection-kit 2",
    );
    type_line(
        &mut pty,
        "contact 5> ",
        "- ik2 zz",
        "problem: word 3 is not a shortcut",
    );
    // Up brings the refused line back; three backspaces take the zz off.
    let mended = format!("{UP}{BACKSPACE}{BACKSPACE}{BACKSPACE}");
    type_line(
        &mut pty,
        "contact 5> ",
        &mended,
        "kept 5 (anonymous): injection-kit 2",
    );
    pty.exp_string("contact 6> ").expect("prompt");
    pty.send_line("done").expect("done");
    pty.exp_string("[y/N] ").expect("question");
    pty.send_line("y").expect("yes");
    pty.exp_string("saved batch 1: 5 contacts (3 anonymous)")
        .expect("saved");
    pty.exp_eof().expect("ends");
    // The mended code and the code typed right are one participant.
    assert_eq!(
        kit.sql("SELECT count(*), count(DISTINCT code) FROM contact WHERE code IS NOT NULL"),
        "2|1\n"
    );
    assert_eq!(kit.sql("SELECT sum(quantity) FROM contact_item"), "13\n");
}

/// Ctrl-C stops the shift and says where the typed contacts are and how to go on;
/// they are all there when it is resumed.
#[test]
fn ctrl_c_says_the_draft_is_kept_and_how_to_resume() {
    let kit = Kitlog::initialised();
    let mut pty = at_the_first_contact(&kit, &[]);
    for (prompt, line) in [("contact 1> ", "A1 ik2"), ("contact 2> ", "- sy10")] {
        pty.exp_string(prompt).expect(prompt);
        pty.send_line(line).expect("line");
    }
    pty.exp_string("contact 3> ").expect("prompt");
    pty.send("B2 half a li").expect("half a line");
    pty.flush().expect("flush");
    pty.send_control('c').expect("ctrl-c");
    pty.exp_string(
        "error: stopped with Ctrl-C; 2 contacts typed so far are kept: kitlog shift --resume carries on",
    )
    .expect("the stop explained");
    pty.exp_eof().expect("ends");
    let (stdout, _, saved) = piped_shift(&kit, &["--resume"], "list\ndone\ny\n");
    assert!(saved);
    assert!(stdout.contains("    1 (code): injection-kit 2\n    2 (anonymous): syringe 10\n"));
    assert!(stdout.contains("saved batch 1: 2 contacts (1 anonymous)"));

    // Before the first contact there is no draft: nothing to resume.
    let mut command = kit.process();
    command.arg("shift");
    let mut pty = spawn_command(command, Some(20_000)).expect("spawn");
    pty.exp_string("Passphrase: ").expect("passphrase");
    pty.send_line(PASSPHRASE).expect("send");
    pty.exp_string("date of the shift").expect("date");
    pty.send_control('c').expect("ctrl-c");
    pty.exp_string("error: stopped with Ctrl-C; nothing was saved")
        .expect("nothing saved");
    pty.exp_eof().expect("ends");
    assert_eq!(kit.sql("SELECT count(*) FROM shift_draft"), "0\n");
}

/// From a script, a yes-or-no question answered with anything else (the next contact
/// line, say) stops the session with its lines kept, rather than dropping that line.
#[test]
fn a_script_that_answers_a_question_with_a_contact_stops() {
    let kit = Kitlog::initialised();
    let (stdout, stderr, saved) = piped_shift(&kit, &[], "\n1\n\n- ik2\nREDCAT\nB2 ik2\n");
    assert!(!saved);
    assert!(
        stdout.contains("keep it as a visit with no supplies? [y/N] \n"),
        "{stdout}"
    );
    assert_eq!(
        stderr,
        "error: a yes-or-no question got another answer; 1 contact typed so far is kept: kitlog shift --resume carries on\n"
    );
}

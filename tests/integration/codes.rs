//! `kitlog codes new` and programs that take issued codes only (`--code-format
//! issued`): random codes nobody can reverse, and typos refused at entry.

use crate::harness::Kitlog;

/// Fresh codes: distinct, shaped `XXXX-XXXX-C`, from the unambiguous alphabet, with
/// no program and no passphrase needed, and nothing written anywhere.
#[test]
fn new_codes_need_no_program_and_leave_no_list() {
    let kit = Kitlog::new();
    let out = kit
        .command()
        .env_remove("KITLOG_PASSPHRASE")
        .args(["codes", "new", "200"])
        .assert()
        .success()
        .stderr("")
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let mut codes: Vec<&str> = text.lines().collect();
    assert_eq!(codes.len(), 200);
    for code in &codes {
        let chars: Vec<char> = code.chars().collect();
        assert_eq!(chars.len(), 11, "{code}");
        assert_eq!((chars[4], chars[9]), ('-', '-'), "{code}");
        assert!(
            code.chars()
                .filter(|c| *c != '-')
                .all(|c| c.is_ascii_digit() || (c.is_ascii_uppercase() && !"ILOU".contains(c))),
            "{code}"
        );
    }
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), 200);
    assert_eq!(
        kit.stdout(&["codes", "new"]).lines().count(),
        10,
        "ten by default"
    );
    assert!(kit.files().is_empty());
    kit.run(&["codes", "new", "0"]).failure().code(2);
}

/// A program of issued codes takes a card's code however it is typed (case, dashes,
/// O for 0), always as the same participant, and refuses a typo instead of saving a
/// new participant, at import and at `kitlog shift` alike.
#[test]
fn issued_codes_are_checked_at_entry() {
    let kit = Kitlog::new();
    kit.run(&["init", "--code-format", "issued"]).success();
    kit.run(&["site", "add", "downtown-van"]).success();
    let code = kit.stdout(&["codes", "new", "1"]).trim().to_owned();
    let folded = code.replace('-', "").to_lowercase().replace('0', "o");
    let sheet = format!(
        "date,site,code,syringe\n2026-11-20,downtown-van,{code},1\n2026-11-20,downtown-van,{folded},2\n"
    );
    kit.import(&kit.sheet("good.csv", sheet), &[]).success();
    assert_eq!(
        kit.sql("SELECT count(DISTINCT code), count(*) FROM contact"),
        "1|2\n"
    );

    // One character changed: refused, with the line and column, nothing saved.
    let mut typo: Vec<char> = code.chars().collect();
    typo[2] = if typo[2] == 'A' { 'B' } else { 'A' };
    let typo: String = typo.into_iter().collect();
    let bad = kit.sheet(
        "bad.csv",
        format!("date,site,code,syringe\n2026-11-21,downtown-van,{typo},1\n"),
    );
    kit.import_refused(
        &bad,
        &[],
        &crate::harness::refusal(&["line 2, column \"code\": the code is not one of the program's issued codes (8 characters and a check character, like K7QM-3XTR-9): a typo, most likely; check the card and type it again"]),
    );
    // The same at the keyboard: the line is refused and nothing of it is kept.
    let out = kit
        .command()
        .arg("shift")
        .write_stdin(format!("\n1\n\n{typo} sy1\n{code} sy1\ndone\ny\n"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("problem: the code is not one of the program's issued codes"),
        "{out}"
    );
    assert!(!out.contains(&typo), "the typed code was echoed");
    assert_eq!(
        kit.sql("SELECT count(DISTINCT code), count(*) FROM contact"),
        "1|3\n"
    );
}

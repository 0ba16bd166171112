//! `kitlog batches` and `kitlog void`: voiding a batch or one contact, the status
//! column, every refusal, and that voided records stay in the database for audit.

use crate::harness::{Kitlog, today};

/// A program with two imported batches: 1 has 3 contacts (worker JD, 6 items),
/// 2 has 2 contacts (no worker, 15 items).
fn two_batches() -> Kitlog {
    let kit = Kitlog::initialised();
    kit.run(&["worker", "add", "JD"]).success();
    kit.import(
        &kit.sheet(
            "a.csv",
            "date,site,code,injection-kit,stem-pipe,naloxone-nasal,naloxone_reason\n\
             2024-11-20,downtown-van,BLUEFOX77,2,,,\n\
             2024-11-20,downtown-van,,,3,,\n\
             2024-11-20,downtown-van,REDCROW12,,,1,first\n",
        ),
        &["--worker", "JD"],
    )
    .success();
    kit.import(
        &kit.sheet(
            "b.csv",
            "date,site,code,syringe\n2024-11-21,downtown-van,,10\n2024-11-21,downtown-van,GREENOWL3,5\n",
        ),
        &[],
    )
    .success();
    kit
}

/// `kitlog batches` as expected: one `status` per batch, in order.
fn batches(statuses: [&str; 2]) -> String {
    let lines = [
        format!(
            "1      2024-11-20  {}  import  downtown-van  JD             3      6  {}",
            today(),
            statuses[0]
        ),
        format!(
            "2      2024-11-21  {}  import  downtown-van  -              2     15  {}",
            today(),
            statuses[1]
        ),
    ];
    let mut out = String::from(
        "batch  days        saved       source  sites         worker  contacts  items  status\n",
    );
    for line in lines {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[test]
fn batches_lists_every_batch_with_its_status() {
    let kit = two_batches();
    assert_eq!(kit.stdout(&["batches"]), batches(["", ""]));
}

/// `kitlog batches N` lists a batch's contacts by the number `void --contact` takes,
/// with what was handed out, and never a code: only whether there was one.
#[test]
fn one_batch_is_listed_contact_by_contact_without_codes() {
    let kit = two_batches();
    kit.run(&["void", "1", "--contact", "2", "--reason", "entry-error"])
        .success();
    let listed = kit.stdout(&["batches", "1"]);
    assert_eq!(
        listed,
        "contact  day         site          who        handed out\n\
         1        2024-11-20  downtown-van  coded      injection-kit 2\n\
         2        2024-11-20  downtown-van  anonymous  stem-pipe 3, (voided: entry-error)\n\
         3        2024-11-20  downtown-van  coded      naloxone-nasal 1, reason first\n\
         to void one: kitlog void 1 --contact N --reason entry-error|duplicate|test\n"
    );
    for code in ["BLUEFOX77", "bluefox77", "REDCROW12", "redcrow12"] {
        assert!(!listed.contains(code));
    }
    kit.refused(
        &["batches", "7"],
        "error: there is no batch 7; see kitlog batches\n",
    );
}

#[test]
fn a_voided_batch_is_marked_and_stays_in_the_database() {
    let kit = two_batches();
    let rows_before = kit.sql(
        "SELECT (SELECT count(*) FROM batch), (SELECT count(*) FROM contact), (SELECT count(*) FROM contact_item)",
    );
    assert_eq!(rows_before, "2|5|5\n");
    kit.run(&["void", "1", "--reason", "test"])
        .success()
        .stdout("voided batch 1 (test): its 3 contacts no longer count in reports\n")
        .stderr("");
    assert_eq!(kit.stdout(&["batches"]), batches(["voided (test)", ""]));
    // Nothing was deleted: the batch, its contacts and their items are all still there.
    assert_eq!(
        kit.sql(
            "SELECT (SELECT count(*) FROM batch), (SELECT count(*) FROM contact), (SELECT count(*) FROM contact_item)",
        ),
        rows_before
    );
    assert_eq!(
        kit.sql("SELECT id, voided_reason, voided_on FROM batch ORDER BY id"),
        format!("1|test|{}\n2||\n", today())
    );
    // Codes of a voided batch are kept too (the audit trail), still only as codes.
    assert_eq!(
        kit.sql("SELECT count(code) FROM contact WHERE batch_id = 1"),
        "2\n"
    );
    // The other reasons.
    kit.run(&["void", "2", "--reason", "duplicate"])
        .success()
        .stdout("voided batch 2 (duplicate): its 2 contacts no longer count in reports\n");
    assert_eq!(
        kit.stdout(&["batches"]),
        batches(["voided (test)", "voided (duplicate)"])
    );
}

#[test]
fn one_contact_can_be_voided() {
    let kit = two_batches();
    kit.run(&["void", "1", "--contact", "2", "--reason", "entry-error"])
        .success()
        .stdout("voided contact 2 of batch 1 (entry-error); it no longer counts in reports\n")
        .stderr("");
    assert_eq!(kit.stdout(&["batches"]), batches(["1 contact voided", ""]));
    kit.run(&["void", "1", "--contact", "3", "--reason", "duplicate"])
        .success()
        .stdout("voided contact 3 of batch 1 (duplicate); it no longer counts in reports\n");
    assert_eq!(kit.stdout(&["batches"]), batches(["2 contacts voided", ""]));
    assert_eq!(
        kit.sql("SELECT position, voided_reason, voided_on FROM contact WHERE batch_id = 1 ORDER BY position"),
        format!("1||\n2|entry-error|{0}\n3|duplicate|{0}\n", today())
    );
    assert_eq!(kit.sql("SELECT count(*) FROM contact"), "5\n");
    assert_eq!(kit.sql("SELECT count(*) FROM contact_item"), "5\n");
    kit.refused(
        &["void", "1", "--contact", "2", "--reason", "test"],
        "error: contact 2 of batch 1 was already voided\n",
    );
    // A batch with voided contacts can still be voided whole.
    kit.run(&["void", "1", "--reason", "test"])
        .success()
        .stdout("voided batch 1 (test): its 3 contacts no longer count in reports\n");
    assert_eq!(kit.stdout(&["batches"]), batches(["voided (test)", ""]));
}

#[test]
fn void_refuses_what_cannot_be_voided() {
    let kit = two_batches();
    kit.run(&["void", "1", "--reason", "test"]).success();
    kit.refused(
        &["void", "1", "--reason", "test"],
        "error: batch 1 was already voided\n",
    );
    kit.refused(
        &["void", "1", "--reason", "duplicate"],
        "error: batch 1 was already voided\n",
    );
    kit.refused(
        &["void", "1", "--contact", "1", "--reason", "test"],
        "error: batch 1 was already voided\n",
    );
    for args in [
        ["void", "3", "--reason", "test"].as_slice(),
        &["void", "0", "--reason", "test"],
        &["void", "9999999", "--reason", "entry-error"],
        &["void", "3", "--contact", "1", "--reason", "test"],
    ] {
        let batch = args[1];
        kit.refused(
            args,
            &format!("error: there is no batch {batch}; see kitlog batches\n"),
        );
    }
    for contact in ["0", "3", "99"] {
        kit.refused(
            &["void", "2", "--contact", contact, "--reason", "test"],
            &format!("error: batch 2 has no contact {contact}; it has 2\n"),
        );
    }
    assert_eq!(kit.stdout(&["batches"]), batches(["voided (test)", ""]));
}

#[test]
fn void_arguments_are_checked_by_the_parser() {
    let kit = two_batches();
    let before = kit.stored_bytes();
    kit.run(&["void", "1", "--reason", "mistake"])
        .failure()
        .code(2)
        .stdout("")
        .stderr(
            "error: invalid value 'mistake' for '--reason <REASON>'\n\
             \x20 [possible values: entry-error, duplicate, test]\n\
             \n\
             For more information, try '--help'.\n",
        );
    for args in [
        ["void", "1"].as_slice(),
        &["void", "--reason", "test"],
        &["void", "one", "--reason", "test"],
        &["void", "1", "--contact", "first", "--reason", "test"],
        &["void", "1", "--contact", "-1", "--reason", "test"],
    ] {
        kit.run(args).failure().code(2).stdout("");
    }
    assert_eq!(kit.stored_bytes(), before);
    assert_eq!(kit.stdout(&["batches"]), batches(["", ""]));
}

#[test]

fn one_contact_is_one_contact() {
    let kit = Kitlog::initialised();
    kit.import(
        &kit.sheet("one.csv", "date,site,syringe\n2024-11-20,downtown-van,1\n"),
        &[],
    )
    .success()
    .stdout(predicates::str::starts_with(
        "saved batch 1: 1 contact (1 anonymous) at downtown-van on 2024-11-20\n",
    ));
    kit.run(&["void", "1", "--reason", "test"])
        .success()
        .stdout("voided batch 1 (test): its 1 contact no longer counts in reports\n");
}

//! `kitlog month`: the month-end check per site and shift day: saved batches (voided
//! ones marked), the waiting draft, usual days that look missing, refusals, and that
//! nothing typed as a participant's code comes back out.

use crate::harness::Kitlog;

/// What was typed as participants' codes, in sheets and at the shift prompt.
const CODES: [&str; 5] = [
    "ZQXHIST7",
    "ZQXMONTHA1",
    "ZQXMONTHB2",
    "ZQXSHIFTD4",
    "ZQXDRAFTE5",
];

/// The rule line every check prints before its totals.
fn rule(month: &str) -> String {
    format!(
        "missing? = a usual day up to today with nothing counted and no draft; a site's usual days are the weekdays it had counted contacts on in at least half of the weeks it was active (and at least twice) in the 8 weeks before {month}\n"
    )
}

/// The 8 weeks before November 2026 (Sun 2026-09-06 to Sat 2026-10-31), batch 1:
/// downtown-van every Tuesday and Friday; east-drop-in on the last four Wednesdays
/// and one Saturday (once is not usual).
fn history() -> String {
    let van = [
        "2026-09-08",
        "2026-09-11",
        "2026-09-15",
        "2026-09-18",
        "2026-09-22",
        "2026-09-25",
        "2026-09-29",
        "2026-10-02",
        "2026-10-06",
        "2026-10-09",
        "2026-10-13",
        "2026-10-16",
        "2026-10-20",
        "2026-10-23",
        "2026-10-27",
        "2026-10-30",
    ];
    let drop_in = [
        "2026-10-07",
        "2026-10-10",
        "2026-10-14",
        "2026-10-21",
        "2026-10-28",
    ];
    let van = van.map(|day| format!("{day},downtown-van,ZQXHIST7,1\n"));
    let drop_in = drop_in.map(|day| format!("{day},east-drop-in,,2\n"));
    format!(
        "date,site,code,injection-kit\n{}{}",
        van.concat(),
        drop_in.concat()
    )
}

/// A program on Wed 2026-11-25 with: the history (batch 1); November's sheet by JD
/// (batch 2, contact 2 voided); a duplicate of Tue 11-10 (batch 3, voided); a shift
/// of Tue 11-24 by JD (batch 4); a draft of Fri 11-20 by MK; an unused site.
fn november() -> Kitlog {
    let kit = Kitlog::initialised().on("2026-11-25");
    kit.run(&["site", "add", "north-route"]).success();
    kit.run(&["worker", "add", "JD"]).success();
    kit.run(&["worker", "add", "MK"]).success();
    kit.import(&kit.sheet("history.csv", history()), &[])
        .success();
    kit.import(
        &kit.sheet(
            "november.csv",
            "date,site,code,injection-kit,stem-pipe\n\
             2026-11-03,downtown-van,ZQXMONTHA1,2,\n\
             2026-11-03,downtown-van,,1,\n\
             2026-11-06,downtown-van,ZQXMONTHB2,,3\n\
             2026-11-17,downtown-van,,1,\n\
             2026-11-04,east-drop-in,ZQXMONTHA1,1,\n\
             2026-11-18,east-drop-in,,,2\n\
             2026-11-18,east-drop-in,ZQXMONTHB2,1,\n",
        ),
        &["--worker", "JD"],
    )
    .success();
    kit.import(
        &kit.sheet(
            "again.csv",
            "date,site,code,syringe\n2026-11-10,downtown-van,,10\n2026-11-10,downtown-van,ZQXMONTHA1,5\n",
        ),
        &[],
    )
    .success();
    kit.run(&["void", "3", "--reason", "duplicate"]).success();
    kit.run(&["void", "2", "--contact", "2", "--reason", "entry-error"])
        .success();
    kit.command()
        .arg("shift")
        .write_stdin("2026-11-24\n1\nJD\nZQXSHIFTD4 ik2\n- sp1\ndone\ny\n")
        .assert()
        .success();
    // Ends without `done`: the two lines stay as a draft.
    kit.command()
        .arg("shift")
        .write_stdin("2026-11-20\n1\nMK\nZQXDRAFTE5 ik1\n- sp2\n")
        .assert()
        .failure();
    kit
}

/// November as checked on `today`, with the lines that depend on it.
fn november_check(today: &str, van_27th: &str, drop_in_25th: &str, totals: &str) -> String {
    format!(
        "shifts of 2026-11 by site and day, as of {today}\n\
         downtown-van (usual days: Tue, Fri)\n\
         \x20 Tue 2026-11-03  batch 2, import by JD: 1 contact, 1 voided\n\
         \x20 Fri 2026-11-06  batch 2, import by JD: 1 contact\n\
         \x20 Tue 2026-11-10  batch 3, import: voided (duplicate), 2 contacts not counted; missing?\n\
         \x20 Fri 2026-11-13  missing?\n\
         \x20 Tue 2026-11-17  batch 2, import by JD: 1 contact\n\
         \x20 Fri 2026-11-20  draft, shift by MK: 2 contacts so far, not saved\n\
         \x20 Tue 2026-11-24  batch 4, shift by JD: 2 contacts\n\
         {van_27th}\
         east-drop-in (usual days: Wed)\n\
         \x20 Wed 2026-11-04  batch 2, import by JD: 1 contact\n\
         \x20 Wed 2026-11-11  missing?\n\
         \x20 Wed 2026-11-18  batch 2, import by JD: 2 contacts\n\
         {drop_in_25th}\
         {}\
         2026-11: {totals}\n",
        rule("2026-11")
    )
}

#[test]
fn month_shows_saved_voided_waiting_and_missing_days_per_site() {
    let kit = november();
    let expected = november_check(
        "2026-11-25",
        "",
        "  Wed 2026-11-25  missing?\n",
        "6 shifts saved, 1 draft waiting, 4 days look missing",
    );
    kit.run(&["month", "2026-11"])
        .success()
        .stdout(expected.clone())
        .stderr("");
    // This month is the default.
    assert_eq!(kit.stdout(&["month"]), expected);
}

#[test]
fn month_never_flags_a_day_after_today() {
    // On the 25th, Friday the 27th is a usual day still to come: not listed at all.
    let on_the_25th = november().stdout(&["month", "2026-11"]);
    assert!(!on_the_25th.contains("2026-11-27"), "{on_the_25th}");
    // Once it has passed with nothing saved, it looks missing.
    let kit = november().on("2026-11-30");
    assert_eq!(
        kit.stdout(&["month", "2026-11"]),
        november_check(
            "2026-11-30",
            "  Fri 2026-11-27  missing?\n",
            "  Wed 2026-11-25  missing?\n",
            "6 shifts saved, 1 draft waiting, 5 days look missing",
        )
    );
}

#[test]
fn month_learns_usual_days_only_from_the_weeks_before_it() {
    let kit = november();
    // October's window (Aug 6 to Sep 30) has the van's September Tuesdays and Fridays,
    // and nothing of east-drop-in, whose October Wednesdays are shown but not usual.
    assert_eq!(
        kit.stdout(&["month", "2026-10"]),
        format!(
            "shifts of 2026-10 by site and day, as of 2026-11-25\n\
             downtown-van (usual days: Tue, Fri)\n\
             \x20 Fri 2026-10-02  batch 1, import: 1 contact\n\
             \x20 Tue 2026-10-06  batch 1, import: 1 contact\n\
             \x20 Fri 2026-10-09  batch 1, import: 1 contact\n\
             \x20 Tue 2026-10-13  batch 1, import: 1 contact\n\
             \x20 Fri 2026-10-16  batch 1, import: 1 contact\n\
             \x20 Tue 2026-10-20  batch 1, import: 1 contact\n\
             \x20 Fri 2026-10-23  batch 1, import: 1 contact\n\
             \x20 Tue 2026-10-27  batch 1, import: 1 contact\n\
             \x20 Fri 2026-10-30  batch 1, import: 1 contact\n\
             east-drop-in (no usual days)\n\
             \x20 Wed 2026-10-07  batch 1, import: 1 contact\n\
             \x20 Sat 2026-10-10  batch 1, import: 1 contact\n\
             \x20 Wed 2026-10-14  batch 1, import: 1 contact\n\
             \x20 Wed 2026-10-21  batch 1, import: 1 contact\n\
             \x20 Wed 2026-10-28  batch 1, import: 1 contact\n\
             {}\
             2026-10: 14 shifts saved, 0 drafts waiting, 0 days look missing\n",
            rule("2026-10")
        )
    );
    // A month with nothing before it and nothing in it.
    assert_eq!(
        kit.stdout(&["month", "2026-08"]),
        format!(
            "shifts of 2026-08 by site and day, as of 2026-11-25\n\
             no site has a shift, a draft or a usual day in 2026-08\n\
             {}\
             2026-08: 0 shifts saved, 0 drafts waiting, 0 days look missing\n",
            rule("2026-08")
        )
    );
}

#[test]
fn month_refuses_a_bad_or_future_month_and_needs_the_passphrase() {
    let kit = Kitlog::initialised().on("2026-11-25");
    // Also a code typed in the wrong place: refused, and not repeated.
    for bad in [
        "2026-13",
        "2026-00",
        "2026-1",
        "november",
        "11/2026",
        "ZQXMONTHA1",
    ] {
        kit.refused(
            &["month", bad],
            "error: write the month as YYYY-MM, e.g. 2026-11, or leave it out for this month\n",
        );
    }
    kit.refused(
        &["month", "2026-12"],
        "error: 2026-12 has not begun yet (today is 2026-11-25); check this month or an earlier one\n",
    );
    kit.refused_by(
        kit.command()
            .env_remove("KITLOG_PASSPHRASE")
            .args(["month", "2026-11"]),
        "error: a passphrase is needed: run kitlog at a terminal, or set KITLOG_PASSPHRASE_FILE or KITLOG_PASSPHRASE\n",
    );
    kit.run(&["month", "2026-11", "2026-10"]).failure().code(2);
}

/// Nothing typed for a participant, in any spelling, nor a stored code, is printed.
#[test]
fn month_prints_no_code_input_and_no_stored_code() {
    let kit = november().on("2026-11-30");
    let mut printed = Vec::new();
    for month in ["2026-09", "2026-10", "2026-11"] {
        let output = kit.run(&["month", month]).success().get_output().clone();
        printed.extend(output.stdout);
        printed.extend(output.stderr);
    }
    let printed = String::from_utf8(printed).expect("UTF-8 output");
    let lowered = printed.to_lowercase();
    for code in CODES {
        assert!(!lowered.contains(&code.to_lowercase()), "{code} printed");
    }
    let stored = kit.sql("SELECT hex(code) FROM contact WHERE code IS NOT NULL");
    assert_eq!(stored.lines().count(), 22, "the codes are stored, salted");
    for code in stored.lines() {
        assert!(!lowered.contains(&code.to_lowercase()));
        assert!(!lowered.contains(&code[..8].to_lowercase()));
    }
}

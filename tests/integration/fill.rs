//! `kitlog fill`: every shipped template filled from a hand-made program whose right
//! answers are written here, unit factors, the return rate and the coverage band
//! included; a hidden cell and what depends on it; the workbook as LibreOffice reads
//! it; and a program's own template.

use std::fmt::Write as _;

use crate::harness::Kitlog;
use crate::spreadsheet::{records, soffice};

/// Four contacts in November and December 2026 (fiscal Q3), two participants:
///
/// | | kits | syringes | stem | bubble | nasal | inject. | strips | rev. | for | returned | reason |
/// |---|---|---|---|---|---|---|---|---|---|---|---|
/// | AA1 Nov 2 | 1 | 10 | 2 | | 1 | | 5 | 1 | | 8 | first |
/// | BB2 Nov 2 | | 20 | | 1 | 2 | 1 | | | 2 | 15 | used |
/// | - Nov 9 | 2 | 5 | 1 | 1 | | | | | 1 | | |
/// | AA1 Dec 1 | | 15 | | | 1 | | 3 | | | 12 | lost |
const SHEET: &str = "date,site,code,injection-kit,syringe,stem-pipe,bubble-pipe,naloxone-nasal,naloxone-injectable,fentanyl-test-strip,reversals,for_others,returned,naloxone_reason\n\
2026-11-02,downtown-van,AA1,1,10,2,,1,,5,1,,8,first\n\
2026-11-02,downtown-van,BB2,,20,,1,2,1,,,2,15,used\n\
2026-11-09,downtown-van,,2,5,1,1,,,,,1,,\n\
2026-12-01,downtown-van,AA1,,15,,,1,,3,,,12,lost\n";

/// A program made on 2027-04-05 with `init ARGS`, the sheet imported.
fn program(init: &[&str]) -> Kitlog {
    let kit = Kitlog::new().on("2027-04-05");
    kit.run(&[&["init"], init].concat()).success();
    kit.run(&["site", "add", "downtown-van"]).success();
    kit.import(&kit.sheet("q3.csv", SHEET), &[]).success();
    kit
}

/// The form's lines, without its notes (which follow a blank line).
fn form(kit: &Kitlog, args: &[&str]) -> String {
    let out = kit.stdout(&[&["fill"], args].concat());
    out.split("\n\n").next().unwrap().to_owned() + "\n"
}

#[test]
fn every_shipped_template_gives_the_right_numbers() {
    let kit = program(&["--min-cell", "1"]);
    assert_eq!(
        form(&kit, &["ontario-naloxone-quarterly"]),
        "Ontario Naloxone Program: quarterly naloxone distribution\n\
         ,FY2026-27 Q3\n\
         Injectable naloxone kits distributed,1\n\
         Injectable naloxone single doses distributed,3\n\
         Nasal naloxone kits distributed,4\n\
         Nasal naloxone single doses distributed,8\n\
         Total naloxone kits distributed,5\n\
         Overdose reversals reported by clients,1\n"
    );
    assert_eq!(
        form(&kit, &["ontario-nsp-annual"]),
        "Needle and syringe program: annual activity report\n\
         ,FY2026-27\n\
         Client contacts,4\n\
         Needles and syringes distributed,50\n\
         Injection kits distributed,3\n\
         Used needles and syringes returned,35\n\
         Return rate (%),70.0\n\
         Stem pipes distributed,3\n\
         Bubble pipes distributed,2\n\
         Inhalation supplies distributed (all pipes),5\n\
         Secondary distribution: people supplies were picked up for,3\n"
    );
    assert_eq!(
        form(&kit, &["bc-naloxone-by-reason"]),
        "BC Take Home Naloxone: kits distributed by reason\n\
         ,2026-11,2026-12\n\
         THN kits distributed,4,1\n\
         First kit,1,0\n\
         Replacement: used on someone,3,0\n\
         Replacement: lost,0,1\n\
         Replacement: stolen,0,0\n\
         Replacement: confiscated,0,0\n\
         Replacement: expired,0,0\n\
         Other reason,0,0\n\
         Reason not recorded,0,0\n"
    );
    assert_eq!(
        form(&kit, &["cdc-ssp-indicators"]),
        "Syringe services program: core indicators\n\
         ,FY2026-27 Q3\n\
         Unduplicated participants (estimate),2\n\
         New participants,2\n\
         Encounters,4\n\
         Syringes distributed,50\n\
         Syringes returned,35\n\
         Syringes returned per 100 distributed,70.0\n\
         Naloxone kits distributed,5\n\
         Overdose reversals reported,1\n\
         Fentanyl test strips distributed,8\n"
    );
    for (denominator, per_person, band) in [
        ("1", "50.0", "low"),
        ("0.4", "125.0", "medium"),
        ("0.25", "200.0", "high"),
    ] {
        assert_eq!(
            form(
                &kit,
                &["unaids-syringes-per-pwid", "--denominator", denominator]
            ),
            format!(
                "Needles and syringes distributed per person who injects drugs\n\
                 ,FY2026-27\n\
                 Needles and syringes distributed,50\n\
                 Needles and syringes per person who injects drugs,{per_person}\n\
                 Coverage (WHO band),{band}\n"
            )
        );
    }
    kit.refused(
        &["fill", "unaids-syringes-per-pwid", "--denominator", "0"],
        "error: --denominator is a number of people: write a number above 0\n",
    );
    kit.refused(
        &["fill", "unaids-syringes-per-pwid"],
        "error: this form needs --denominator: people who inject drugs in the area (the coordinator's estimate)\n",
    );
    kit.refused(
        &["fill", "ontario-nsp-annual", "--from", "2027-04-01", "--to", "2027-04-02"],
        "error: there is nothing to fill: no fiscal-year in the range has both ended and got contacts; nothing was released\n",
    );
    kit.refused(
        &["fill", "no-such-form"],
        "error: there is no template called no-such-form; kitlog template list shows them\n",
    );
    // Each filled form is a release in the ledger, its form kept byte for byte.
    let releases = kit.stdout(&["releases"]);
    assert!(
        releases.contains("item (form ontario-naloxone-quarterly)"),
        "{releases}"
    );
    let shown = kit.stdout(&["releases", "show", "1"]);
    assert!(shown.starts_with("Ontario Naloxone Program: quarterly naloxone distribution\n"));
}

/// At the program's threshold of 5, the one injectable kit is hidden, and so is every
/// cell that needs it: its doses and the total of kits. The notes say what x means.
#[test]
fn a_hidden_number_hides_what_is_worked_out_from_it() {
    let kit = Kitlog::new().on("2027-04-05");
    kit.run(&["init"]).success();
    kit.run(&["site", "add", "downtown-van"]).success();
    let mut sheet = String::from("date,site,code,naloxone-nasal,naloxone-injectable\n");
    for n in 0..12 {
        writeln!(sheet, "2026-11-{:02},downtown-van,P{n}X,1,", n + 2).unwrap();
    }
    sheet.push_str("2026-11-20,downtown-van,LONE1,,1\n");
    kit.import(&kit.sheet("n.csv", sheet), &[]).success();
    let out = kit.stdout(&["fill", "ontario-naloxone-quarterly"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[2], "Injectable naloxone kits distributed,x");
    assert_eq!(lines[3], "Injectable naloxone single doses distributed,x");
    assert_eq!(lines[6], "Total naloxone kits distributed,x");
    // An attacker's check, independent of kitlog's arithmetic: the lone kit is the
    // kits of both kinds (13) less the nasal ones (12), or the doses of both kinds
    // less twice the nasal ones; no such pair may be published together.
    let published: Vec<&str> = lines[2..8]
        .iter()
        .filter_map(|line| line.rsplit(',').next())
        .collect();
    assert!(
        !(published.contains(&"13") && (published.contains(&"12") || published.contains(&"24"))),
        "the lone kit is recoverable: {out}"
    );
    assert!(
        out.contains("x = hidden: it needs a count about fewer than 5"),
        "{out}"
    );
}

/// The workbook as `LibreOffice` reads it: the form's values as numbers, x as text, and
/// the notes sheet with the threshold, the release and the definitions.
#[test]
fn the_workbook_opens_in_libreoffice_with_its_notes() {
    let kit = program(&["--min-cell", "1"]);
    let book = kit.path("onp.xlsx");
    kit.run(&["fill", "ontario-naloxone-quarterly", "--out"])
        .failure(); // --out needs a file
    kit.command()
        .args([
            "fill",
            "ontario-naloxone-quarterly",
            "--for",
            "onp",
            "--out",
        ])
        .arg(&book)
        .assert()
        .success()
        .stdout(format!(
            "wrote Ontario Naloxone Program: quarterly naloxone distribution to {}\n",
            book.display()
        ));
    let dir = kit.path("");
    soffice(
        &dir,
        &[
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,UTF8,1,,0,false,true,false,false,false,-1",
            "onp.xlsx",
        ],
    );
    let form = records(&std::fs::read_to_string(kit.path("onp-Form.csv")).unwrap());
    assert_eq!(form[1], ["", "FY2026-27 Q3"]);
    assert_eq!(
        form[3],
        ["Injectable naloxone single doses distributed", "3"]
    );
    assert_eq!(form[5], ["Nasal naloxone single doses distributed", "8"]);
    let notes = std::fs::read_to_string(kit.path("onp-Notes.csv")).unwrap();
    for needle in [
        "threshold (min-cell): 1",
        "kitlog release 1, made 2027-04-05",
        "FY2026-27 Q3 = 2026-10-01 to 2026-12-31",
        "kitlog's quantity of naloxone-nasal times 2 (2 doses of 4 mg per nasal kit)",
    ] {
        assert!(notes.contains(needle), "{needle} missing from {notes}");
    }
    // Never over an existing file without --force.
    kit.command()
        .args(["fill", "ontario-naloxone-quarterly", "--out"])
        .arg(&book)
        .assert()
        .failure();
}

/// A program's own template, in the folder beside the program file: listed, shown,
/// filled; one counting an item the program lacks, or badly written, is refused.
#[test]
fn a_programs_own_template_is_listed_and_filled() {
    let kit = program(&["--min-cell", "1"]);
    let folder = kit.path("kitlog-templates");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(
        folder.join("city-pipes.toml"),
        "title = \"City: pipes by month\"\nperiod = \"month\"\nby = \"category\"\n\
         [[row]]\nlabel = \"Safer smoking supplies\"\nmeasure = \"quantity\"\nof = [\"smoking\"]\n",
    )
    .unwrap();
    let listed = kit.stdout(&["template", "list"]);
    assert!(
        listed.contains(
            "city-pipes                   month       City: pipes by month  (the program's own)\n"
        ),
        "{listed}"
    );
    assert!(
        kit.stdout(&["template", "show", "city-pipes"])
            .starts_with("title = \"City: pipes by month\"")
    );
    assert_eq!(
        form(&kit, &["city-pipes"]),
        "City: pipes by month\n,2026-11,2026-12\nSafer smoking supplies,5,0\n"
    );
    std::fs::write(
        folder.join("bad.toml"),
        "title = \"Bad\"\nperiod = \"fortnight\"\nby = \"item\"\n[[row]]\nlabel = \"a\"\nmeasure = \"quantity\"\n",
    )
    .unwrap();
    assert!(kit.stdout(&["template", "list"]).contains(
        "bad                          cannot be used: period is \"fortnight\"; write week, month, quarter or fiscal-year  (the program's own)\n"
    ));
    // A file that is not text is listed as unusable; the others still work.
    std::fs::write(folder.join("binary.toml"), b"\xff\xfe\x00junk").unwrap();
    let listed = kit.stdout(&["template", "list"]);
    assert!(listed.contains("binary                       cannot be used: the file cannot be read as UTF-8 text  (the program's own)\n"), "{listed}");
    assert!(listed.contains("ontario-nsp-annual "), "{listed}");
    kit.refused(
        &["fill", "bad"],
        "error: the template bad cannot be used: period is \"fortnight\"; write week, month, quarter or fiscal-year\n",
    );
    std::fs::write(
        folder.join("condoms.toml"),
        "title = \"C\"\nperiod = \"month\"\nby = \"item\"\n[[row]]\nlabel = \"Condoms\"\nmeasure = \"quantity\"\nof = [\"condom\"]\n",
    )
    .unwrap();
    kit.refused(
        &["fill", "condoms"],
        "error: the template condoms counts condom, which this program does not have; add the item, or copy the template and change its rows\n",
    );
}

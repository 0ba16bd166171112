//! `kitlog site …` and `kitlog item …`: adding, listing and retiring, the naming rules,
//! and what retirement means for shift sheets from before and after it.

use crate::harness::{Kitlog, today};

const INVALID_SITE: &str = "error: site names are 1 to 40 lowercase letters, digits and dashes, starting with a letter (e.g. downtown-van)\n";
const INVALID_ITEM: &str = "error: item names are 1 to 40 lowercase letters, digits and dashes, starting with a letter (e.g. downtown-van)\n";

/// The seeded catalogue as `item list` prints it, by category then name.
const SEEDED_ITEMS: &str = "\
item                 category   unit       alias
injection-kit        injection  kit        ik
syringe              injection  syringe    sy
naloxone-injectable  naloxone   kit        ni
naloxone-nasal       naloxone   kit        nn
sharps-container     other      container  sc
bubble-pipe          smoking    pipe       bp
stem-pipe            smoking    pipe       sp
fentanyl-test-strip  testing    strip      ft
";

/// Expects `item add TYPED` to be refused because TYPED, read as a sheet header reads
/// it, is `name`: one of the sheet's own columns, which no item may shadow.
#[track_caller]
fn refused_as_a_column(kit: &Kitlog, typed: &str, name: &str) {
    kit.refused(
        &["item", "add", typed, "--category", "other"],
        &format!(
            "error: \"{name}\" is a shift-sheet column of its own, so it cannot name an item\n"
        ),
    );
}

#[test]
fn sites_are_added_listed_and_retired() {
    let kit = Kitlog::bare();
    kit.run(&["site", "add", "downtown-van"])
        .success()
        .stdout("added site downtown-van\n")
        .stderr("");
    // Names are lower-cased and trimmed.
    kit.run(&["site", "add", " East-Drop-In "])
        .success()
        .stdout("added site east-drop-in\n");
    kit.run(&["site", "add", "a-2"])
        .success()
        .stdout("added site a-2\n");
    assert_eq!(
        kit.stdout(&["site", "list"]),
        "a-2\ndowntown-van\neast-drop-in\n"
    );
    kit.run(&["site", "retire", "Downtown-Van"])
        .success()
        .stdout(format!(
            "retired site downtown-van from {}; earlier records keep it\n",
            today()
        ));
    assert_eq!(
        kit.stdout(&["site", "list"]),
        format!("a-2\ndowntown-van  (retired {})\neast-drop-in\n", today())
    );
    assert_eq!(
        kit.sql("SELECT name, retired_on FROM site ORDER BY name"),
        format!("a-2|\ndowntown-van|{}\neast-drop-in|\n", today())
    );
}

#[test]
fn site_names_follow_the_rule_and_are_unique() {
    let kit = Kitlog::bare();
    kit.run(&["site", "add", "downtown-van"]).success();
    let forty = format!("a{}", "b".repeat(39));
    let forty_one = format!("a{}", "b".repeat(40));
    for name in [
        "corner of main and 5th",
        "a b",
        "9th-street",
        "-van",
        "",
        " ",
        forty_one.as_str(),
        "café",
        "van/2",
        "BLUE FOX",
    ] {
        kit.refused(&["site", "add", "--", name], INVALID_SITE);
    }
    kit.run(&["site", "add", &forty])
        .success()
        .stdout(format!("added site {forty}\n"));
    kit.refused(
        &["site", "add", "downtown-van"],
        "error: there is already a site called downtown-van\n",
    );
    kit.refused(
        &["site", "add", "DOWNTOWN-VAN"],
        "error: there is already a site called downtown-van\n",
    );
    kit.refused(
        &["site", "retire", "nowhere"],
        "error: there is no site called nowhere; see kitlog site list\n",
    );
    kit.refused(&["site", "retire", "not a site"], INVALID_SITE);
    kit.run(&["site", "retire", "downtown-van"]).success();
    kit.refused(
        &["site", "retire", "downtown-van"],
        &format!(
            "error: the site downtown-van was already retired on {}\n",
            today()
        ),
    );
    // A retired name stays taken: old records still use it.
    kit.refused(
        &["site", "add", "downtown-van"],
        "error: there is already a site called downtown-van\n",
    );
}

#[test]
fn items_are_added_listed_and_retired() {
    let kit = Kitlog::bare();
    assert_eq!(kit.stdout(&["item", "list"]), SEEDED_ITEMS);
    kit.run(&[
        "item",
        "add",
        "Condom",
        "--category",
        "other",
        "--unit",
        "Piece",
    ])
    .success()
    .stdout("added item condom (other, counted in piece); it is also a shift-sheet column\n")
    .stderr("");
    kit.run(&[
        "item",
        "add",
        "glass-stem-cover",
        "--category",
        "smoking",
        "--alias",
        "GSC",
    ])
    .success()
    .stdout(
        "added item glass-stem-cover (smoking, counted in each); it is also a shift-sheet column\n",
    );
    kit.run(&[
        "item",
        "add",
        "xylazine-strip",
        "--category",
        "testing",
        "--unit",
        "strip",
    ])
    .success();
    kit.run(&["item", "retire", "bubble-pipe"])
        .success()
        .stdout(format!(
            "retired item bubble-pipe from {}; earlier records keep it\n",
            today()
        ));
    assert_eq!(
        kit.stdout(&["item", "list"]),
        format!(
            "\
item                 category   unit       alias
injection-kit        injection  kit        ik
syringe              injection  syringe    sy
naloxone-injectable  naloxone   kit        ni
naloxone-nasal       naloxone   kit        nn
condom               other      piece      -
sharps-container     other      container  sc
bubble-pipe          smoking    pipe       bp     (retired {})
glass-stem-cover     smoking    each       gsc
stem-pipe            smoking    pipe       sp
fentanyl-test-strip  testing    strip      ft
xylazine-strip       testing    strip      -
",
            today()
        )
    );
    // A new item is a column of the shift sheet at once.
    kit.run(&["site", "add", "downtown-van"]).success();
    kit.import(
        &kit.sheet(
            "s.csv",
            "date,site,code,condom,Glass Stem Cover\n2024-11-20,downtown-van,,12,3\n",
        ),
        &[],
    )
    .success()
    .stdout(predicates::str::starts_with(
        "saved batch 1: 1 contact (1 anonymous) at downtown-van on 2024-11-20\n\
         \x20 condom 12, glass-stem-cover 3; reversals 0, for others 0, returned 0\n",
    ));
}

#[test]
fn item_names_follow_the_rule_and_are_unique() {
    let kit = Kitlog::bare();
    let forty_one = "a".repeat(41);
    for name in ["naloxone kit", "3-pipes", "", forty_one.as_str(), "kit!"] {
        kit.refused(&["item", "add", name, "--category", "other"], INVALID_ITEM);
    }
    // The sheet's fixed columns cannot be items, in any case.
    for (typed, name) in [
        ("reversals", "reversals"),
        ("code", "code"),
        ("Date", "date"),
        ("SITE", "site"),
        ("for_others", "for_others"),
        ("returned", "returned"),
        ("naloxone_reason", "naloxone_reason"),
    ] {
        refused_as_a_column(&kit, typed, name);
    }
    kit.refused(
        &[
            "item",
            "add",
            "condom",
            "--category",
            "other",
            "--unit",
            "a box",
        ],
        "error: a unit is 1 to 40 lowercase letters, digits and dashes (e.g. kit, pipe, strip)\n",
    );
    kit.refused(
        &["item", "retire", "condom"],
        "error: there is no item called condom; see kitlog item list\n",
    );
    // Every word a shift line or its prompts give a meaning to is refused as an alias:
    // `exit` quits a shift, so it can never mean an item.
    for word in ["exit", "quit", "undo", "r", "ret", "conf", "yes"] {
        kit.refused(
            &["item", "alias", "syringe", word],
            &format!(
                "error: \"{word}\" already means something on a shift line; choose another alias\n"
            ),
        );
    }
    kit.refused(
        &["item", "alias", "syringe", "ik"],
        "error: the alias ik already belongs to injection-kit\n",
    );
    kit.run(&["item", "retire", "syringe"]).success();
    kit.refused(
        &["item", "retire", "syringe"],
        &format!(
            "error: the item syringe was already retired on {}\n",
            today()
        ),
    );
}

#[test]
fn a_bad_category_is_refused_by_the_parser() {
    let kit = Kitlog::bare();
    let before = kit.stored_bytes();
    kit.run(&["item", "add", "condom", "--category", "harm-reduction"])
        .failure()
        .code(2)
        .stdout("")
        .stderr(
            "error: invalid value 'harm-reduction' for '--category <CATEGORY>'\n\
             \x20 [possible values: injection, smoking, naloxone, testing, other]\n\
             \n\
             For more information, try '--help'.\n",
        );
    kit.run(&["item", "add", "condom"])
        .failure()
        .code(2)
        .stdout("")
        .stderr(predicates::str::starts_with(
            "error: the following required arguments were not provided:\n  --category <CATEGORY>\n",
        ));
    assert_eq!(kit.stored_bytes(), before);
    assert_eq!(kit.stdout(&["item", "list"]), SEEDED_ITEMS);
}

#[test]
fn a_retired_site_keeps_earlier_sheets_and_refuses_later_ones() {
    let kit = Kitlog::initialised();
    kit.run(&["site", "retire", "downtown-van"]).success();
    // A sheet from before the retirement still imports.
    kit.import(
        &kit.sheet(
            "old.csv",
            "date,site,code,syringe\n2024-11-20,downtown-van,,1\n2024-11-20,east-drop-in,,1\n",
        ),
        &[],
    )
    .success();
    kit.import(
        &kit.sheet("old-default.csv", "date,syringe\n2024-11-21,1\n"),
        &["--site", "downtown-van"],
    )
    .success();
    // One from the retirement day on is refused where the site is named.
    let day = today();
    kit.import_refused(
        &kit.sheet(
            "new.csv",
            format!(
                "date,site,code,syringe\n{day},east-drop-in,,1\n{day},downtown-van,,2\n{day},Downtown-Van,,3\n"
            ),
        ),
        &[],
        &format!(
            "error: lines 3 and 4, column \"site\": the site was retired on {day}, on or before this contact\n\
             error: the shift sheet was not imported (2 problems); nothing was saved\n"
        ),
    );
    kit.import_refused(
        &kit.sheet("new-default.csv", "code,syringe\n,1\n"),
        &["--site", "downtown-van", "--date", &day],
        &format!(
            "error: line 2, column \"site\": the site was retired on {day}, on or before this contact\n\
             error: the shift sheet was not imported (1 problem); nothing was saved\n"
        ),
    );
}

#[test]
fn a_retired_item_keeps_earlier_sheets_and_refuses_later_ones() {
    let kit = Kitlog::initialised();
    kit.run(&["item", "retire", "bubble-pipe"]).success();
    kit.import(
        &kit.sheet(
            "old.csv",
            "date,site,code,bubble-pipe,stem-pipe\n2024-11-20,downtown-van,,2,1\n",
        ),
        &[],
    )
    .success()
    .stdout(predicates::str::starts_with(
        "saved batch 1: 1 contact (1 anonymous) at downtown-van on 2024-11-20\n\
         \x20 bubble-pipe 2, stem-pipe 1; reversals 0, for others 0, returned 0\n",
    ));
    let day = today();
    kit.import_refused(
        &kit.sheet(
            "new.csv",
            format!(
                "date,site,code,stem-pipe,Bubble Pipe\n{day},downtown-van,,1,\n{day},downtown-van,,1,0\n{day},downtown-van,,,4\n"
            ),
        ),
        &[],
        &format!(
            "error: line 4, column \"bubble-pipe\": the item was retired on {day}, on or before this contact\n\
             error: the shift sheet was not imported (1 problem); nothing was saved\n"
        ),
    );
    // An empty or zero cell in a retired item's column is no use of it.
    kit.import(
        &kit.sheet(
            "zero.csv",
            format!("date,site,code,stem-pipe,bubble-pipe\n{day},downtown-van,,1,0\n"),
        ),
        &[],
    )
    .success();
}

#[test]

fn item_names_that_collide_with_sheet_columns_are_refused() {
    let kit = Kitlog::bare();
    for (typed, name) in [
        ("for-others", "for-others"),
        ("naloxone-reason", "naloxone-reason"),
        ("For Others", "for-others"),
    ] {
        refused_as_a_column(&kit, typed, name);
    }
    // `_` is not in the documented rule, and stem_pipe would share stem-pipe's column.
    kit.refused(
        &["item", "add", "stem_pipe", "--category", "smoking"],
        INVALID_ITEM,
    );
}

#[test]

fn a_duplicate_item_is_refused_in_plain_english() {
    let kit = Kitlog::bare();
    kit.refused(
        &["item", "add", "Syringe", "--category", "injection"],
        "error: there is already an item called syringe\n",
    );
}

/// A program's own word for an item (`narcan`) reads on shift lines like its alias;
/// it cannot be another item's word or name, or a word a shift line already uses, and
/// it can be taken back.
#[test]
fn an_item_takes_the_programs_own_words() {
    let kit = Kitlog::initialised();
    kit.run(&["item", "alias", "naloxone-nasal", "Narcan"])
        .success()
        .stdout("narcan now reads as naloxone-nasal on shift lines (e.g. narcan 2)\n");
    kit.run(&["item", "alias", "naloxone-nasal", "nasal-spray"])
        .success();
    assert!(
        kit.stdout(&["item", "list"])
            .contains("\nnaloxone-nasal       naloxone   kit        nn, narcan, nasal-spray\n")
    );
    kit.refused(
        &["item", "alias", "naloxone-injectable", "narcan"],
        "error: the alias narcan already belongs to naloxone-nasal\n",
    );
    kit.refused(
        &["item", "alias", "naloxone-injectable", "syringe"],
        "error: the alias syringe already belongs to syringe\n",
    );
    kit.refused(
        &["item", "add", "narcan", "--category", "naloxone"],
        "error: the alias narcan already belongs to naloxone-nasal\n",
    );
    for word in ["reversals", "returned", "finish", "totals"] {
        kit.refused(
            &["item", "alias", "syringe", word],
            &format!(
                "error: \"{word}\" already means something on a shift line; choose another alias\n"
            ),
        );
    }
    kit.refused(
        &["item", "alias", "syringe", "needle-and-syringe-for-injecting"],
        "error: an alias is 1 to 4 lowercase letters (ik, typed ik2), or a longer word of 5 to 24 letters or dashes (narcan)\n",
    );
    kit.run(&["item", "alias", "naloxone-nasal", "nasal-spray", "--remove"])
        .success()
        .stdout("nasal-spray no longer reads as naloxone-nasal\n");
    kit.refused(
        &["item", "alias", "naloxone-nasal", "nasal-spray", "--remove"],
        "error: nasal-spray is not a word for naloxone-nasal; kitlog item list shows each item's words\n",
    );
    // The short alias can go too; the item is then typed by name or longer word.
    kit.run(&["item", "alias", "naloxone-nasal", "nn", "--remove"])
        .success();
    assert!(
        kit.stdout(&["item", "list"])
            .contains("\nnaloxone-nasal       naloxone   kit        narcan\n")
    );
}

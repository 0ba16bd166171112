//! `kitlog summary --html`: one self-contained page whose numbers are those of one
//! release, rendered by headless Chromium to a PNG and to a one-page PDF.
//!
//! `scripts/test` installs Chromium (Debian's `chromium`) when it is missing; without
//! it this test fails, it is never skipped.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use crate::harness::{contains, example};
use crate::report::{SHEETS, with_examples};

/// The tables of the page: section title, then row name to cells.
fn tables(page: &str) -> HashMap<String, HashMap<String, Vec<String>>> {
    let mut tables = HashMap::new();
    for section in page.split("<section>").skip(1) {
        let title = section
            .split_once("<h2>")
            .and_then(|(_, rest)| rest.split_once("</h2>"))
            .map(|(title, _)| title.to_owned())
            .unwrap();
        let mut rows = HashMap::new();
        for row in section.split("<tr>").skip(2) {
            let name = row
                .split_once("<th>")
                .and_then(|(_, rest)| rest.split_once("</th>"))
                .map(|(name, _)| name.to_owned())
                .unwrap();
            let cells = row
                .split("<td")
                .skip(1)
                .map(|cell| {
                    let (_, rest) = cell.split_once('>').unwrap();
                    rest.split_once("</td>").unwrap().0.to_owned()
                })
                .collect();
            rows.insert(name, cells);
        }
        tables.insert(title, rows);
    }
    tables
}

/// Runs headless Chromium on `page` with its profile in `dir` (never the user's).
fn chromium(dir: &Path, args: &[&str], page: &Path) {
    let output = Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu"])
        .arg(format!(
            "--user-data-dir={}",
            dir.join("chromium").display()
        ))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("Chromium runs: scripts/test installs Debian's chromium");
    assert!(
        output.status.success(),
        "chromium {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_summary_page_is_one_release_on_one_page() {
    let kit = with_examples();
    let path = kit.path("summary.html");
    kit.command()
        .args(["summary", "--html"])
        .arg(&path)
        .assert()
        .success()
        .stdout(format!(
            "wrote the summary of FY2026-27 (release 1) to {}\n",
            path.display()
        ));
    let page = std::fs::read_to_string(&path).unwrap();
    // Self-contained: nothing to run, nothing to fetch.
    for needle in ["<script", "src=", "href=", "url(", "@import", "https:"] {
        assert!(!page.contains(needle), "{needle}");
    }
    assert_eq!(page.matches("<svg").count(), 4);
    // Its numbers are the release's: compare with the same months released again as
    // a report (each month was decided once, so every release of it agrees).
    let report = kit.stdout(&[
        "report",
        "--period",
        "month",
        "--by",
        "site,category",
        "--from",
        "2026-04-01",
        "--to",
        "2027-03-31",
    ]);
    let tables = tables(&page);
    let supplies = &tables["Supplies handed out, by category and month"];
    let contacts = &tables["Contacts per site and month"];
    let mut compared = 0;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(report.split("\n\n").next().unwrap().as_bytes());
    let headers = reader.headers().unwrap().clone();
    for record in reader.records() {
        let record = record.unwrap();
        let cell = |name: &str| &record[headers.iter().position(|h| h == name).unwrap()];
        // The page starts at the first month with contacts: October.
        let month = match cell("period") {
            "2026-10" => 0,
            "2026-11" => 1,
            _ => continue,
        };
        let (site, category) = (cell("site"), cell("category"));
        if site == "ALL" && category != "ALL" {
            assert_eq!(supplies[category][month], cell("quantity"), "{record:?}");
            compared += 1;
        }
        if site != "ALL" && category == "ALL" {
            assert_eq!(contacts[site][month], cell("contacts"), "{record:?}");
            compared += 1;
        }
    }
    assert!(compared >= 8, "{compared} cells compared");
    // No participant code typed on a sheet is on the page.
    for sheet in SHEETS {
        let mut reader = csv::Reader::from_path(example(sheet)).unwrap();
        for record in reader.records() {
            let code = record.unwrap()[2].to_owned();
            if code.len() >= 4 {
                assert!(
                    !contains(page.as_bytes(), code.as_bytes()),
                    "a code is on the page"
                );
            }
        }
    }
    // Rendered as a browser shows it, and printed: one page.
    rendered_on_one_page(&kit.path(""), &path);
    // Never over a file.
    kit.command()
        .args(["summary", "--html"])
        .arg(&path)
        .assert()
        .failure();
}

/// The page as headless Chromium shows it (a PNG) and prints it (a PDF of one page).
fn rendered_on_one_page(dir: &Path, path: &Path) {
    let png = dir.join("summary.png");
    chromium(
        dir,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=800,1130",
        ],
        path,
    );
    // The bars are drawn: pixels of the first series' colour (#1b4f72), as many as
    // a few bars of the example program cover at least.
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let channels = info.color_type.samples();
    let bar_pixels = pixels[..info.buffer_size()]
        .chunks(channels)
        .filter(|p| p[..3] == [0x1b, 0x4f, 0x72])
        .count();
    assert!(bar_pixels > 2_000, "{bar_pixels} pixels of bars");
    let pdf = dir.join("summary.pdf");
    chromium(
        dir,
        &[
            &format!("--print-to-pdf={}", pdf.display()),
            "--no-pdf-header-footer",
        ],
        path,
    );
    let pdf = std::fs::read(&pdf).unwrap();
    let count = |needle: &[u8]| pdf.windows(needle.len()).filter(|w| w == &needle).count();
    // Each page is a `/Type /Page` object; the page tree is `/Type /Pages`.
    let pages = count(b"/Type /Page") - count(b"/Type /Pages") + count(b"/Type/Page")
        - count(b"/Type/Pages");
    assert_eq!(pages, 1, "the summary prints on one page");
}

/// The page releases no empty month before the first contact: a month released is
/// decided for good, and would keep its zeros when its paper sheets come in later.
#[test]
fn the_summary_page_never_freezes_a_month_before_the_first_contact() {
    let kit = crate::harness::Kitlog::initialised().on("2026-12-05");
    kit.refused(
        &["summary", "--html", "empty.html"],
        "error: there is nothing to summarise: no month of FY2026-27 with contacts has ended yet; nothing was released\n",
    );
    let october = kit.sheet(
        "october.csv",
        "date,site,code,injection-kit\n2026-10-05,downtown-van,,1\n",
    );
    kit.import(&october, &[]).success();
    kit.run(&["summary", "--html", "page.html"]).success();
    let page = std::fs::read_to_string(kit.path("page.html")).unwrap();
    assert!(
        page.contains("FY2026-27, 2026-10-05 to 2026-11-30"),
        "{page}"
    );
    assert!(!page.contains("2026-07"));
    // Released: October and November only, no empty month before them.
    assert!(
        kit.stdout(&["releases"])
            .contains("  month        2026-10 to 2026-11  site,category (summary page)"),
        "{}",
        kit.stdout(&["releases"])
    );
}

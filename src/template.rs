//! Funders' forms as data: a template names the funder's rows, each a kitlog measure
//! over items or categories (times a factor the template states), a ratio of two
//! rows, a count per person of a denominator the coordinator supplies, or the band
//! such a count falls in. Pure: a template is read from TOML text and filled from the
//! rows of a release, so every number on a form is a number kitlog released (or a
//! sum, product or ratio of released numbers), and a form cell that needs a hidden
//! number is hidden too. A form therefore reveals nothing its release does not.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::Deserialize;

use crate::catalogue::{Catalogue, Category};
use crate::fiscal::{Period, PeriodKind};
use crate::measures::{MEASURES, Measure};
use crate::report::{ALL, ItemLevel, ReportRow, SUPPRESSED};

/// The templates kitlog ships: `(name, TOML text)`.
pub const SHIPPED: [(&str, &str); 5] = [
    (
        "ontario-naloxone-quarterly",
        include_str!("../templates/ontario-naloxone-quarterly.toml"),
    ),
    (
        "ontario-nsp-annual",
        include_str!("../templates/ontario-nsp-annual.toml"),
    ),
    (
        "bc-naloxone-by-reason",
        include_str!("../templates/bc-naloxone-by-reason.toml"),
    ),
    (
        "cdc-ssp-indicators",
        include_str!("../templates/cdc-ssp-indicators.toml"),
    ),
    (
        "unaids-syringes-per-pwid",
        include_str!("../templates/unaids-syringes-per-pwid.toml"),
    ),
];

/// A template as written: see the README's "Writing a template".
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateFile {
    title: String,
    funder: Option<String>,
    period: String,
    by: String,
    denominator: Option<String>,
    #[serde(rename = "row", default)]
    rows: Vec<RowFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RowFile {
    label: String,
    key: Option<String>,
    measure: Option<String>,
    #[serde(default)]
    of: Vec<String>,
    factor: Option<u32>,
    ratio: Option<[String; 2]>,
    per_denominator: Option<String>,
    band_of: Option<String>,
    #[serde(default)]
    bands: Vec<f64>,
    #[serde(default)]
    band_labels: Vec<String>,
    note: Option<String>,
}

/// A checked template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// Its name: the file name without `.toml`.
    pub name: String,
    /// The form's title, in the funder's words.
    pub title: String,
    /// Who asks for it.
    pub funder: Option<String>,
    /// One column per period of this kind.
    pub kind: PeriodKind,
    /// The breakdown of the release it is filled from: items or categories.
    pub by: ItemLevel,
    /// What the coordinator supplies with `--denominator`, when a row needs it.
    pub denominator: Option<String>,
    /// The form's rows, in order.
    pub rows: Vec<Row>,
}

/// One row of a form.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// In the funder's words.
    pub label: String,
    /// How its cells are worked out.
    pub source: Source,
    /// A definition for the notes (a unit factor's reason, say).
    pub note: Option<String>,
}

/// How a row's cells are worked out.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A measure summed over items or categories (empty: every item), times a factor.
    Count {
        /// The report column.
        measure: Measure,
        /// Item or category names; empty for the `ALL` row.
        of: Vec<String>,
        /// Units per counted thing (2 doses per nasal kit).
        factor: u32,
    },
    /// Row `numerator` as a percentage of row `denominator`.
    Ratio {
        /// Index of the row on top.
        numerator: usize,
        /// Index of the row below.
        denominator: usize,
    },
    /// Row `of` divided by the coordinator's denominator.
    PerDenominator(usize),
    /// The band row `of` falls in: below `bands[0]` is `labels[0]`, and so on.
    Band {
        /// Index of the row.
        of: usize,
        /// Upper limits, ascending.
        bands: Vec<f64>,
        /// One more label than limits.
        labels: Vec<String>,
    },
}

/// One cell of a filled form.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A count.
    Count(u64),
    /// A ratio or a rate, rounded to one decimal.
    Decimal(f64),
    /// A band's label.
    Text(String),
    /// Needs a number the release hides.
    Hidden,
    /// A ratio over zero.
    NotApplicable,
}

impl Cell {
    /// As written in a CSV cell.
    #[must_use]
    pub fn text(&self) -> String {
        match self {
            Cell::Count(n) => n.to_string(),
            Cell::Decimal(x) => format!("{x:.1}"),
            Cell::Text(text) => text.clone(),
            Cell::Hidden => SUPPRESSED.to_owned(),
            Cell::NotApplicable => "n/a".to_owned(),
        }
    }

    fn number(&self) -> Option<f64> {
        match self {
            #[expect(clippy::cast_precision_loss, reason = "counts stay far below 2^52")]
            Cell::Count(n) => Some(*n as f64),
            Cell::Decimal(x) => Some(*x),
            _ => None,
        }
    }
}

/// A filled form: one column per period.
#[derive(Debug, Clone, PartialEq)]
pub struct Form {
    /// The period labels, in order.
    pub columns: Vec<String>,
    /// Each row's label and cells.
    pub rows: Vec<(String, Vec<Cell>)>,
}

/// Why a template cannot be used; said with the template's name by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateProblem(pub String);

impl Template {
    /// Reads and checks a template's TOML text.
    pub fn parse(name: &str, text: &str) -> Result<Template, TemplateProblem> {
        let file: TemplateFile = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
            TemplateProblem(match line {
                Some(line) => format!("line {line}: {}", e.message()),
                None => e.message().to_owned(),
            })
        })?;
        let kind = PeriodKind::ALL
            .into_iter()
            .find(|k| k.as_str() == file.period)
            .ok_or_else(|| {
                TemplateProblem(format!(
                    "period is {:?}; write week, month, quarter or fiscal-year",
                    file.period
                ))
            })?;
        let by = match file.by.as_str() {
            "item" => ItemLevel::Item,
            "category" => ItemLevel::Category,
            other => {
                return Err(TemplateProblem(format!(
                    "by is {other:?}; write item or category"
                )));
            }
        };
        let mut keys: HashMap<String, usize> = HashMap::new();
        let mut rows = Vec::with_capacity(file.rows.len());
        for (index, row) in file.rows.into_iter().enumerate() {
            let source = row_source(&row, &keys, file.denominator.is_some())
                .map_err(|reason| TemplateProblem(format!("row {}: {reason}", index + 1)))?;
            if let Some(key) = row.key {
                keys.insert(key, index);
            }
            rows.push(Row {
                label: row.label,
                source,
                note: row.note,
            });
        }
        if rows.is_empty() {
            return Err(TemplateProblem("it has no [[row]]".to_owned()));
        }
        Ok(Template {
            name: name.to_owned(),
            title: file.title,
            funder: file.funder,
            kind,
            by,
            denominator: file.denominator,
            rows,
        })
    }

    /// The item or category names the template counts that `catalogue` does not have.
    #[must_use]
    pub fn unknown_names(&self, catalogue: &Catalogue) -> Vec<String> {
        let known = |name: &str| match self.by {
            ItemLevel::Category => Category::parse(name).is_some(),
            _ => catalogue.items.iter().any(|item| item.name == name),
        };
        let mut unknown: Vec<String> = self
            .rows
            .iter()
            .filter_map(|row| match &row.source {
                Source::Count { of, .. } => Some(of),
                _ => None,
            })
            .flatten()
            .filter(|name| !known(name))
            .cloned()
            .collect();
        unknown.dedup();
        unknown
    }

    /// Fills the form from a release's rows (breakdown `by`, no sites): one column per
    /// period. `denominator` is the coordinator's, when the template asks for one.
    #[must_use]
    pub fn fill(&self, periods: &[Period], rows: &[ReportRow], denominator: Option<f64>) -> Form {
        let columns = periods.iter().map(|p| p.label.clone()).collect();
        let mut filled: Vec<(String, Vec<Cell>)> = Vec::with_capacity(self.rows.len());
        for row in &self.rows {
            let cells = periods
                .iter()
                .enumerate()
                .map(|(column, period)| {
                    let earlier = |index: usize| &filled[index].1[column];
                    cell(&row.source, period, rows, denominator, earlier)
                })
                .collect();
            filled.push((row.label.clone(), cells));
        }
        Form {
            columns,
            rows: filled,
        }
    }

    /// The notes a filled form carries: what each row is, in kitlog's terms.
    #[must_use]
    pub fn definitions(&self) -> Vec<String> {
        self.rows
            .iter()
            .map(|row| {
                let mut text = format!("{}: {}", row.label, self.describe(&row.source));
                if let Some(note) = &row.note {
                    let _ = write!(text, " ({note})");
                }
                text
            })
            .collect()
    }

    fn describe(&self, source: &Source) -> String {
        let label = |index: usize| self.rows[index].label.as_str();
        match source {
            Source::Count {
                measure,
                of,
                factor,
            } => {
                let name = MEASURES[*measure as usize].1;
                let over = if of.is_empty() {
                    "every item".to_owned()
                } else {
                    of.join(" + ")
                };
                let times = if *factor == 1 {
                    String::new()
                } else {
                    format!(" times {factor}")
                };
                format!("kitlog's {name} of {over}{times}")
            }
            Source::Ratio {
                numerator,
                denominator,
            } => format!(
                "{} as a percentage of {}",
                label(*numerator),
                label(*denominator)
            ),
            Source::PerDenominator(of) => format!(
                "{} divided by {}",
                label(*of),
                self.denominator.as_deref().unwrap_or("the denominator")
            ),
            Source::Band { of, bands, labels } => {
                let mut parts = Vec::new();
                for (index, label) in labels.iter().enumerate() {
                    let part = match (index.checked_sub(1).map(|i| bands[i]), bands.get(index)) {
                        (None, Some(upper)) => format!("{label} below {upper}"),
                        (Some(lower), Some(upper)) => {
                            format!("{label} from {lower} to below {upper}")
                        }
                        (Some(lower), None) => format!("{label} from {lower}"),
                        (None, None) => label.clone(),
                    };
                    parts.push(part);
                }
                format!("the band of {}: {}", label(*of), parts.join(", "))
            }
        }
    }
}

/// A row's source, checked: a measure that exists, keys of earlier rows only.
fn row_source(
    row: &RowFile,
    keys: &HashMap<String, usize>,
    has_denominator: bool,
) -> Result<Source, String> {
    let key = |name: &String| {
        keys.get(name)
            .copied()
            .ok_or_else(|| format!("{name:?} is not the key of an earlier row"))
    };
    let given = [
        row.measure.is_some(),
        row.ratio.is_some(),
        row.per_denominator.is_some(),
        row.band_of.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err("give exactly one of measure, ratio, per_denominator or band_of".to_owned());
    }
    if let Some(measure) = &row.measure {
        let measure = MEASURES
            .iter()
            .find(|(_, name, _)| name == measure)
            .map(|(m, _, _)| *m)
            .ok_or_else(|| format!("{measure:?} is not a report column"))?;
        let factor = row.factor.unwrap_or(1);
        if factor == 0 {
            return Err("a factor of 0 would hide the counts".to_owned());
        }
        let people_or_visits = matches!(
            measure,
            Measure::Contacts
                | Measure::Participants
                | Measure::NewParticipants
                | Measure::AnonymousContacts
        );
        if people_or_visits && row.of.len() > 1 {
            return Err(
                "contacts and participants do not add up across items (one visit or person can take several); count one item, or leave of out for every item"
                    .to_owned(),
            );
        }
        return Ok(Source::Count {
            measure,
            of: row.of.clone(),
            factor,
        });
    }
    if let Some([numerator, denominator]) = &row.ratio {
        return Ok(Source::Ratio {
            numerator: key(numerator)?,
            denominator: key(denominator)?,
        });
    }
    if let Some(of) = &row.per_denominator {
        if !has_denominator {
            return Err("per_denominator needs the template's denominator".to_owned());
        }
        return Ok(Source::PerDenominator(key(of)?));
    }
    let of = key(row.band_of.as_ref().expect("one source is given"))?;
    let ascending =
        row.bands.iter().all(|b| b.is_finite()) && row.bands.windows(2).all(|w| w[0] < w[1]);
    if row.bands.is_empty() || !ascending || row.band_labels.len() != row.bands.len() + 1 {
        return Err("band_of needs ascending bands and one more band_labels than bands".to_owned());
    }
    Ok(Source::Band {
        of,
        bands: row.bands.clone(),
        labels: row.band_labels.clone(),
    })
}

/// One cell of a row in one period. `earlier` gives cells of rows above it.
fn cell<'f>(
    source: &Source,
    period: &Period,
    rows: &[ReportRow],
    denominator: Option<f64>,
    earlier: impl Fn(usize) -> &'f Cell,
) -> Cell {
    match source {
        Source::Count {
            measure,
            of,
            factor,
        } => {
            let names: Vec<&str> = if of.is_empty() {
                vec![ALL]
            } else {
                of.iter().map(String::as_str).collect()
            };
            let mut total = Some(0u64);
            for name in names {
                let found = rows
                    .iter()
                    .find(|r| r.period.label == period.label && r.site == ALL && r.item == name);
                match found {
                    // A release has no row for what nobody was given: that is a 0.
                    None => {}
                    Some(row) => match row.value(*measure) {
                        Some(value) => total = total.and_then(|t| t.checked_add(value)),
                        None => return Cell::Hidden,
                    },
                }
            }
            // Beyond u64 is no count a form can print.
            total
                .and_then(|t| t.checked_mul(u64::from(*factor)))
                .map_or(Cell::NotApplicable, Cell::Count)
        }
        Source::Ratio {
            numerator,
            denominator,
        } => match (earlier(*numerator).number(), earlier(*denominator).number()) {
            (Some(_), Some(0.0)) => Cell::NotApplicable,
            (Some(above), Some(below)) => Cell::Decimal(round1(above * 100.0 / below)),
            _ => Cell::Hidden,
        },
        Source::PerDenominator(of) => match (earlier(*of).number(), denominator) {
            (Some(value), Some(people)) if people > 0.0 && (value / people).is_finite() => {
                Cell::Decimal(round1(value / people))
            }
            (Some(_), _) => Cell::NotApplicable,
            (None, _) => Cell::Hidden,
        },
        Source::Band { of, bands, labels } => match earlier(*of).number() {
            Some(value) => {
                let index = bands.iter().take_while(|limit| value >= **limit).count();
                Cell::Text(labels[index].clone())
            }
            None if matches!(earlier(*of), Cell::NotApplicable) => Cell::NotApplicable,
            None => Cell::Hidden,
        },
    }
}

fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fiscal::FiscalCalendar;
    use crate::measures::Measures;

    #[test]
    fn every_shipped_template_reads() {
        for (name, text) in SHIPPED {
            let template = Template::parse(name, text).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(template.definitions().len(), template.rows.len());
        }
    }

    #[test]
    fn mistakes_in_a_template_are_named() {
        let problem = |rows: &str| {
            Template::parse(
                "t",
                &format!("title = \"T\"\nperiod = \"month\"\nby = \"item\"\n{rows}"),
            )
            .unwrap_err()
            .0
        };
        assert_eq!(
            problem("[[row]]\nlabel = \"a\"\nratio = [\"x\", \"y\"]\n"),
            "row 1: \"x\" is not the key of an earlier row"
        );
        assert_eq!(
            problem("[[row]]\nlabel = \"a\"\nmeasure = \"kits\"\n"),
            "row 1: \"kits\" is not a report column"
        );
        assert_eq!(
            problem("[[row]]\nlabel = \"a\"\nmeasure = \"quantity\"\nfactor = 0\n"),
            "row 1: a factor of 0 would hide the counts"
        );
        assert_eq!(
            problem("[[row]]\nlabel = \"a\"\n"),
            "row 1: give exactly one of measure, ratio, per_denominator or band_of"
        );
        assert_eq!(
            problem("[[row]]\nlabel = \"a\"\nper_denominator = \"a\"\n"),
            "row 1: per_denominator needs the template's denominator"
        );
        assert!(
            problem("[[row]]\nlabel = \"a\"\nmeasure = \"quantity\"\ncolour = 1\n")
                .contains("colour")
        );
        assert_eq!(problem(""), "it has no [[row]]");
        assert!(
            problem("[[row]]\nlabel = \"a\"\nmeasure = \"participants\"\nof = [\"a\", \"b\"]\n")
                .starts_with("row 1: contacts and participants do not add up across items")
        );
        assert_eq!(
            problem(
                "[[row]]\nkey = \"k\"\nlabel = \"a\"\nmeasure = \"quantity\"\n[[row]]\nlabel = \"b\"\nband_of = \"k\"\nbands = [nan]\nband_labels = [\"x\", \"y\"]\n"
            ),
            "row 2: band_of needs ascending bands and one more band_labels than bands"
        );
        // TOML's own mistakes say their line.
        assert!(problem("[[row]]\nlabel = \"a\nmeasure = 1\n").starts_with("line 5: "));
    }

    /// Hidden numbers hide every cell worked out from them; a ratio over zero is n/a;
    /// bands take their lower limit.
    #[test]
    fn cells_follow_the_numbers_they_need() {
        let text = "title = \"T\"\nperiod = \"month\"\nby = \"item\"\ndenominator = \"people\"\n\
            [[row]]\nkey = \"a\"\nlabel = \"A\"\nmeasure = \"quantity\"\nof = [\"a\"]\n\
            [[row]]\nkey = \"b\"\nlabel = \"B\"\nmeasure = \"quantity\"\nof = [\"b\"]\nfactor = 2\n\
            [[row]]\nlabel = \"A+B\"\nmeasure = \"quantity\"\nof = [\"a\", \"b\"]\n\
            [[row]]\nlabel = \"A/B\"\nratio = [\"a\", \"b\"]\n\
            [[row]]\nkey = \"p\"\nlabel = \"A per person\"\nper_denominator = \"a\"\n\
            [[row]]\nlabel = \"band\"\nband_of = \"p\"\nbands = [10.0, 20.0]\nband_labels = [\"low\", \"mid\", \"high\"]\n";
        let template = Template::parse("t", text).unwrap();
        let calendar = FiscalCalendar::default();
        let month = |day: &str| calendar.period_of(PeriodKind::Month, day.parse().unwrap());
        let row = |period: &Period, item: &str, quantity: u64, hidden: bool| {
            let mut measures = Measures::default();
            measures[Measure::Quantity] = quantity;
            ReportRow {
                period: period.clone(),
                site: ALL.to_owned(),
                item: item.to_owned(),
                measures,
                hidden: if hidden {
                    1 << Measure::Quantity as usize
                } else {
                    0
                },
            }
        };
        let (may, june, july) = (
            month("2026-05-01"),
            month("2026-06-01"),
            month("2026-07-01"),
        );
        let rows = vec![
            row(&may, "a", 20, false),
            row(&may, "b", 5, false),
            row(&june, "a", 3, true),
            row(&june, "b", 0, false),
            row(&july, "a", 10, false),
        ];
        let form = template.fill(&[may, june, july], &rows, Some(2.0));
        let texts: Vec<Vec<String>> = form
            .rows
            .iter()
            .map(|(_, cells)| cells.iter().map(Cell::text).collect())
            .collect();
        assert_eq!(
            texts,
            [
                ["20", "x", "10"],
                ["10", "0", "0"],
                ["25", "x", "10"],
                ["200.0", "x", "n/a"],
                ["10.0", "x", "5.0"],
                ["mid", "x", "low"],
            ]
        );
    }
}

#[cfg(test)]
mod readme {
    /// The template of the README's "Writing a template" reads, so a coordinator who
    /// copies it starts from something that works.
    #[test]
    fn the_readme_example_reads() {
        let readme = include_str!("../README.md");
        let start = readme
            .find("### Writing a template")
            .expect("the README section");
        let block = readme[start..]
            .split("```toml\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .expect("a toml block");
        let template = super::Template::parse("readme", block).unwrap();
        assert_eq!(template.rows.len(), 5);
    }
}

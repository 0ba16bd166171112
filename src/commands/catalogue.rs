//! `kitlog site …`, `kitlog item …` and `kitlog worker …`: the coordinator's lists.

use std::io::Write;

use super::{Context, output};
use crate::catalogue::{Category, normalise_name, normalise_unit};
use crate::cli::{ItemCommand, SiteCommand, WorkerCommand};
use crate::contact::WorkerLabel;
use crate::error::Result;
use crate::shift::{normalise_alias, normalise_synonym};

/// `site add|list|retire`
pub(super) fn run_site(
    command: SiteCommand,
    context: &Context,
    out: &mut impl Write,
) -> Result<()> {
    let mut store = context.unlock()?.store;
    match command {
        SiteCommand::Add { name } => {
            let name = normalise_name("site", &name)?;
            store.add_site(&name)?;
            output(writeln!(out, "added site {name}"))
        }
        SiteCommand::List => {
            let sites = store.catalogue()?.sites;
            if sites.is_empty() {
                return output(writeln!(
                    out,
                    "no sites yet; add one with kitlog site add NAME"
                ));
            }
            for site in sites {
                match site.retired_on {
                    Some(on) => output(writeln!(out, "{}  (retired {on})", site.name))?,
                    None => output(writeln!(out, "{}", site.name))?,
                }
            }
            Ok(())
        }
        SiteCommand::Retire { name } => {
            // A retirement reaches every laptop and cannot be undone: the coordinator's.
            super::coordinator_only(&store, "retiring a site")?;
            let name = normalise_name("site", &name)?;
            store.retire_site(&name, context.today)?;
            output(writeln!(
                out,
                "retired site {name} from {}; earlier records keep it",
                context.today
            ))
        }
    }
}

/// `worker add|list`
pub(super) fn run_worker(
    command: WorkerCommand,
    context: &Context,
    out: &mut impl Write,
) -> Result<()> {
    let mut store = context.unlock()?.store;
    match command {
        WorkerCommand::Add { label } => {
            let label = WorkerLabel::parse(&label)?;
            store.add_worker(label.as_str())?;
            output(writeln!(
                out,
                "added worker label {}; kitlog shift offers it, and import --worker takes it",
                label.as_str()
            ))
        }
        WorkerCommand::List => {
            let labels = store.worker_labels()?;
            if labels.is_empty() {
                return output(writeln!(
                    out,
                    "no worker labels yet; add one with kitlog worker add JD"
                ));
            }
            for label in labels {
                output(writeln!(out, "{label}"))?;
            }
            Ok(())
        }
    }
}

/// `item add|list|retire`
pub(super) fn run_item(
    command: ItemCommand,
    context: &Context,
    out: &mut impl Write,
) -> Result<()> {
    let mut store = context.unlock()?.store;
    match command {
        ItemCommand::Add {
            name,
            category,
            unit,
            alias,
        } => {
            let name = normalise_name("item", &name)?;
            let category = Category::from(category);
            let unit = normalise_unit(&unit)?;
            let alias = alias.as_deref().map(normalise_alias).transpose()?;
            store.add_item(&name, category, &unit, alias.as_deref())?;
            output(writeln!(
                out,
                "added item {name} ({}, counted in {unit}); it is also a shift-sheet column",
                category.as_str()
            ))
        }
        ItemCommand::Alias {
            name,
            alias,
            remove,
        } => {
            let name = normalise_name("item", &name)?;
            let word = alias.trim().to_ascii_lowercase();
            if remove {
                store.remove_word(&name, &word)?;
                return output(writeln!(out, "{word} no longer reads as {name}"));
            }
            if word.len() <= 4 {
                let alias = normalise_alias(&word)?;
                store.set_alias(&name, &alias)?;
                output(writeln!(
                    out,
                    "{name} is now {alias} on shift lines (e.g. {alias}2)"
                ))
            } else {
                let word = normalise_synonym(&word)?;
                store.add_synonym(&name, &word)?;
                output(writeln!(
                    out,
                    "{word} now reads as {name} on shift lines (e.g. {word} 2)"
                ))
            }
        }
        ItemCommand::List => {
            let items = store.catalogue()?.items;
            let width = items.iter().map(|i| i.name.len()).max().unwrap_or(4);
            let unit_width = items.iter().map(|i| i.unit.len()).max().unwrap_or(4);
            output(writeln!(
                out,
                "{:width$}  {:9}  {:unit_width$}  alias",
                "item", "category", "unit"
            ))?;
            for item in items {
                let retired = item
                    .retired_on
                    .map(|on| format!("  (retired {on})"))
                    .unwrap_or_default();
                // The short alias, then the program's own longer words (`nn, narcan`).
                let words: Vec<&str> = item
                    .alias
                    .iter()
                    .chain(&item.synonyms)
                    .map(String::as_str)
                    .collect();
                let words = if words.is_empty() {
                    "-".to_owned()
                } else {
                    words.join(", ")
                };
                let line = format!(
                    "{:width$}  {:9}  {:unit_width$}  {words:5}{retired}",
                    item.name,
                    item.category.as_str(),
                    item.unit,
                );
                output(writeln!(out, "{}", line.trim_end()))?;
            }
            Ok(())
        }
        ItemCommand::Retire { name } => {
            super::coordinator_only(&store, "retiring an item")?;
            let name = normalise_name("item", &name)?;
            store.retire_item(&name, context.today)?;
            output(writeln!(
                out,
                "retired item {name} from {}; earlier records keep it",
                context.today
            ))
        }
    }
}

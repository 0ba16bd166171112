//! `kitlog site …` and `kitlog item …`: the coordinator's catalogue.

use std::io::Write;

use super::{Context, output};
use crate::catalogue::{normalise_name, normalise_unit};
use crate::cli::{ItemCommand, SiteCommand};
use crate::error::Result;
use crate::store::Store;

/// `site add|list|retire`
pub(super) fn run_site(
    command: SiteCommand,
    context: &Context,
    out: &mut impl Write,
) -> Result<()> {
    let mut store = Store::open(&context.db)?;
    match command {
        SiteCommand::Add { name } => {
            let name = normalise_name("site", &name)?;
            store.add_site(&name)?;
            output(writeln!(out, "added site {name}"))
        }
        SiteCommand::List => {
            for site in store.catalogue()?.sites {
                match site.retired_on {
                    Some(on) => output(writeln!(out, "{}  (retired {on})", site.name))?,
                    None => output(writeln!(out, "{}", site.name))?,
                }
            }
            Ok(())
        }
        SiteCommand::Retire { name } => {
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

/// `item add|list|retire`
pub(super) fn run_item(
    command: ItemCommand,
    context: &Context,
    out: &mut impl Write,
) -> Result<()> {
    let mut store = Store::open(&context.db)?;
    match command {
        ItemCommand::Add {
            name,
            category,
            unit,
        } => {
            let name = normalise_name("item", &name)?;
            let unit = normalise_unit(&unit)?;
            store.add_item(&name, category, &unit)?;
            output(writeln!(
                out,
                "added item {name} ({}, counted in {unit}); it is also a shift-sheet column",
                category.as_str()
            ))
        }
        ItemCommand::List => {
            let items = store.catalogue()?.items;
            let width = items.iter().map(|i| i.name.len()).max().unwrap_or(4);
            output(writeln!(out, "{:width$}  {:9}  unit", "item", "category"))?;
            for item in items {
                let retired = item
                    .retired_on
                    .map(|on| format!("  (retired {on})"))
                    .unwrap_or_default();
                output(writeln!(
                    out,
                    "{:width$}  {:9}  {}{retired}",
                    item.name,
                    item.category.as_str(),
                    item.unit
                ))?;
            }
            Ok(())
        }
        ItemCommand::Retire { name } => {
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

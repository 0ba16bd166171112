//! `kitlog releases`: the ledger, one release a line; `releases show N`: one release
//! byte for byte, as it was sent. Needs no passphrase.

use std::io::Write;

use super::{Context, output};
use crate::cli::{ReleasesArgs, ReleasesCommand};
use crate::error::{Error, Result};

/// Lists the ledger, or prints one release.
pub(super) fn run(args: &ReleasesArgs, context: &Context, out: &mut impl Write) -> Result<()> {
    let store = context.unlock()?.store;
    if let Some(ReleasesCommand::Show { number }) = &args.command {
        let released = store
            .release_content(*number)?
            .ok_or(Error::NoSuchRelease(*number))?;
        return output(out.write_all(&released));
    }
    let releases = store.releases()?;
    if releases.is_empty() {
        return output(writeln!(
            out,
            "no releases yet; every report made at the program's threshold is one (kitlog report)"
        ));
    }
    let periods: Vec<String> = releases
        .iter()
        .map(|r| match &r.periods {
            Some((first, last)) if first == last => first.clone(),
            Some((first, last)) => format!("{first} to {last}"),
            None => "(none)".to_owned(),
        })
        .collect();
    let width = periods.iter().map(String::len).max().unwrap_or(7).max(7);
    // A form's breakdown names its template: the column grows to fit it.
    let by = releases
        .iter()
        .map(|r| r.breakdown.len())
        .max()
        .unwrap_or(13)
        .max(13);
    output(writeln!(
        out,
        "{:>3}  {:10}  {:11}  {:width$}  {:by$}  {:>4}  {:>6}  for",
        "#", "made", "period", "periods", "by", "rows", "hidden"
    ))?;
    for (release, periods) in releases.iter().zip(&periods) {
        let line = format!(
            "{:>3}  {:10}  {:11}  {periods:width$}  {:by$}  {:>4}  {:>6}  {}",
            release.id,
            release.made_on,
            release.kind,
            release.breakdown,
            release.rows,
            release.hidden_cells,
            release.recipient.as_deref().unwrap_or("-"),
        );
        output(writeln!(out, "{}", line.trim_end()))?;
    }
    Ok(())
}

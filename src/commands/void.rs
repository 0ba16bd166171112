//! `kitlog void`: take a batch or one contact out of the reports, keeping it for audit.

use std::io::Write;

use super::{Context, output};
use crate::cli::VoidArgs;
use crate::error::Result;
use crate::import::plural;
use crate::store::Store;

/// Voids and says what was voided; nothing is deleted.
pub(super) fn run(args: &VoidArgs, context: &Context, out: &mut impl Write) -> Result<()> {
    let mut store = Store::open(&context.db)?;
    let reason = args.reason.as_str();
    if let Some(position) = args.contact {
        store.void_contact(args.batch, position, args.reason, context.today)?;
        output(writeln!(
            out,
            "voided contact {position} of batch {} ({reason}); it no longer counts in reports",
            args.batch
        ))
    } else {
        let contacts = store.void_batch(args.batch, args.reason, context.today)?;
        output(writeln!(
            out,
            "voided batch {} ({reason}): its {} no longer {} in reports",
            args.batch,
            plural(contacts as u64, "contact"),
            if contacts == 1 { "counts" } else { "count" }
        ))
    }
}

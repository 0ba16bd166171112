//! `kitlog void`: take a batch or one contact out of the reports, keeping it for audit.

use std::io::Write;

use super::{Context, output};
use crate::cli::VoidArgs;
use crate::contact::VoidReason;
use crate::error::Result;
use crate::text::Count;

/// Voids and says what was voided; nothing is deleted.
pub(super) fn run(args: &VoidArgs, context: &Context, out: &mut impl Write) -> Result<()> {
    let mut store = context.unlock()?.store;
    let void_reason = VoidReason::from(args.reason);
    let reason = void_reason.as_str();
    // Released periods keep what they were released with (see the release ledger).
    let released = store.on_released_days(args.batch, args.contact)?;
    let scope = if released {
        " of periods not yet released (periods already released keep it, so that every release of them agrees)"
    } else {
        ""
    };
    if let Some(position) = args.contact {
        store.void_contact(args.batch, position, void_reason, context.today)?;
        output(writeln!(
            out,
            "voided contact {position} of batch {} ({reason}); it no longer counts in reports{scope}",
            args.batch
        ))
    } else {
        let contacts = store.void_batch(args.batch, void_reason, context.today)?;
        if contacts == 0 && store.this_device()?.is_some() {
            // A worker's batch already at the coordinator: its contacts are there.
            return output(writeln!(
                out,
                "voided batch {} ({reason}); its contacts are at the coordinator, and the void goes there with this laptop's next bundle",
                args.batch
            ));
        }
        output(writeln!(
            out,
            "voided batch {} ({reason}): its {} no longer {} in reports{scope}",
            args.batch,
            Count::of(contacts, "contact"),
            if contacts == 1 { "counts" } else { "count" }
        ))
    }
}

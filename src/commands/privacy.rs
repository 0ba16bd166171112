//! `kitlog privacy`: every field kitlog stores and every column a report exports,
//! each with a one-line meaning.
//!
//! The lists come from the schema itself (`schema.sql` applied to an in-memory
//! database, the structure every program is migrated to) and from the report's own
//! column constants, so they cannot drift. The meanings live in the tables below; a
//! unit test fails when a column has no meaning, so a new column must be explained
//! here before it can be released. Needs no passphrase and no program.

use std::io::Write;

use super::{Context, output};
use crate::error::Result;
use crate::measures::measure_columns;
use crate::report::MEASURES;
use crate::report::csv::LABEL_COLUMNS;
use crate::store::{SCHEMA_VERSION, describe_schema};

/// What each table holds, and each `table.column` means.
const STORED: &[(&str, &str)] = &[
    ("program", "the program's settings; one row"),
    ("program.id", "always 1"),
    (
        "program.fiscal_year_start",
        "month the funder's fiscal year starts (1-12)",
    ),
    ("program.min_cell", "smallest count a report publishes"),
    (
        "program.code_format",
        "optional shape codes must have (A letter, 9 digit, * either)",
    ),
    (
        "program.key_check",
        "HMAC of the program key, to confirm a passphrase opened the right key",
    ),
    ("program.created_on", "day the program was created"),
    (
        "worker",
        "the coordinator's list of worker labels a shift's worker is chosen from",
    ),
    ("worker.id", "row number"),
    (
        "worker.label",
        "initials or a role, 1 to 8 letters or digits (e.g. JD); never a name",
    ),
    (
        "carried_epoch_key",
        "code keys of fiscal years kept across a key rotation, so their codes stay the same",
    ),
    (
        "carried_epoch_key.fiscal_year",
        "the fiscal year (its starting year)",
    ),
    (
        "carried_epoch_key.key",
        "that year's code key (32 bytes); erased when the year is closed",
    ),
    ("site", "the catalogue of places and outreach routes"),
    ("site.id", "row number"),
    ("site.name", "site name (e.g. downtown-van)"),
    ("site.retired_on", "day the site was retired, if it was"),
    ("item", "the catalogue of supplies"),
    ("item.id", "row number"),
    (
        "item.name",
        "item name, also its shift-sheet column (e.g. injection-kit)",
    ),
    (
        "item.category",
        "injection, smoking, naloxone, testing or other",
    ),
    ("item.unit", "what one counts (kit, pipe, strip)"),
    ("item.retired_on", "day the item was retired, if it was"),
    ("item.alias", "short name on kitlog shift lines (ik, sp)"),
    (
        "item_synonym",
        "the program's own words for items on shift lines (narcan)",
    ),
    ("item_synonym.word", "the word, 5 to 24 letters or dashes"),
    ("item_synonym.item_id", "the item it reads as"),
    ("batch", "what was saved in one go: one import or one shift"),
    ("batch.id", "batch number"),
    ("batch.saved_on", "day it was saved (no time of day)"),
    ("batch.source", "import or shift"),
    (
        "batch.worker",
        "optional worker label of up to 8 letters or digits, such as initials",
    ),
    (
        "batch.sheet_digest",
        "keyed digest of an imported sheet, to refuse the same sheet twice",
    ),
    (
        "batch.voided_reason",
        "entry-error, duplicate or test, if the batch was voided",
    ),
    ("batch.voided_on", "day it was voided"),
    (
        "batch.void_seq",
        "order of the void among all voids, so reports decided before it stay as they were",
    ),
    ("contact", "one interaction"),
    ("contact.id", "row number"),
    ("contact.batch_id", "the batch it was saved in"),
    (
        "contact.position",
        "its number within the batch (1 = first)",
    ),
    ("contact.day", "day of the contact (no time of day)"),
    (
        "contact.fiscal_year",
        "fiscal year of the day; chooses the key of the code",
    ),
    ("contact.site_id", "the site"),
    (
        "contact.code",
        "salted participant code (16 bytes of an HMAC), or empty for anonymous",
    ),
    (
        "contact.reversals",
        "overdoses the participant reported reversing since last time",
    ),
    (
        "contact.for_others",
        "people the participant picked up supplies for",
    ),
    ("contact.returned", "used syringes brought back"),
    (
        "contact.naloxone_reason",
        "why naloxone was given: first, used, lost, stolen, confiscated, expired, other",
    ),
    (
        "contact.voided_reason",
        "entry-error, duplicate or test, if the contact was voided",
    ),
    ("contact.voided_on", "day it was voided"),
    (
        "shift_draft",
        "a shift being typed at kitlog shift, kept until saved or discarded; never in reports",
    ),
    ("shift_draft.id", "row number"),
    ("shift_draft.day", "day of the shift (no time of day)"),
    ("shift_draft.site_id", "site of the shift"),
    (
        "shift_draft.worker",
        "worker label: a few letters such as initials",
    ),
    ("shift_draft.started_on", "day typing started"),
    ("shift_draft_contact", "one typed contact of a draft shift"),
    ("shift_draft_contact.draft_id", "the draft"),
    ("shift_draft_contact.position", "its number in the draft"),
    (
        "shift_draft_contact.fiscal_year",
        "fiscal year whose key salted the code",
    ),
    (
        "shift_draft_contact.code",
        "salted participant code (128 bits), or empty for an anonymous contact",
    ),
    (
        "shift_draft_contact.reversals",
        "overdoses reported reversed",
    ),
    ("shift_draft_contact.for_others", "people picked up for"),
    ("shift_draft_contact.returned", "used syringes returned"),
    (
        "shift_draft_contact.naloxone_reason",
        "why naloxone was given",
    ),
    ("shift_draft_item", "what one typed contact received"),
    ("shift_draft_item.draft_id", "the draft"),
    (
        "shift_draft_item.position",
        "the contact's number in the draft",
    ),
    ("shift_draft_item.item_id", "the item"),
    ("shift_draft_item.quantity", "how many"),
    (
        "closed_year",
        "fiscal years closed with kitlog close-year: their codes are erased",
    ),
    ("closed_year.fiscal_year", "the year (its start year)"),
    ("closed_year.closed_on", "day it was closed"),
    (
        "closed_cell",
        "a closed year's report cells, unsuppressed aggregates kept so its reports read as before",
    ),
    ("closed_cell.fiscal_year", "the closed year"),
    (
        "closed_cell.period_kind",
        "week, month, quarter or fiscal-year",
    ),
    (
        "closed_cell.item_level",
        "whether item names an item, a category or ALL",
    ),
    ("closed_cell.period_label", "the period as reports name it"),
    ("closed_cell.period_start", "first day of the period"),
    ("closed_cell.period_end", "last day of the period"),
    ("closed_cell.site", "site name or ALL"),
    ("closed_cell.item", "item, category or ALL"),
    ("contact.void_seq", "order of the void among all voids"),
    (
        "decided_period",
        "each period a release was decided for, counted once and frozen",
    ),
    ("decided_period.id", "row number"),
    (
        "decided_period.period_kind",
        "week, month, quarter or fiscal-year",
    ),
    (
        "decided_period.period_label",
        "the period as reports name it",
    ),
    ("decided_period.period_start", "first day of the period"),
    ("decided_period.period_end", "last day of the period"),
    ("decided_period.min_cell", "the threshold it was decided at"),
    (
        "decided_period.batch_high",
        "the last batch its numbers include",
    ),
    (
        "decided_period.void_high",
        "the last void its numbers include",
    ),
    ("decided_period.decided_on", "day it was decided"),
    (
        "decided_cell",
        "the frozen numbers of a decided period, one row per site or ALL and item, category or ALL",
    ),
    ("decided_cell.period_id", "the decided period"),
    ("decided_cell.site", "site name or ALL"),
    (
        "decided_cell.item_level",
        "whether item names an item, a category or ALL",
    ),
    ("decided_cell.item", "item, category or ALL"),
    (
        "decided_cell.hidden",
        "which of the numbers every release shows as x",
    ),
    (
        "release",
        "the ledger: every report released at or above the program's threshold",
    ),
    ("release.id", "release number"),
    ("release.made_on", "day it was made"),
    ("release.period_kind", "week, month, quarter or fiscal-year"),
    ("release.first_period", "its first period"),
    ("release.last_period", "its last period"),
    ("release.breakdown", "the --by it was cut by"),
    (
        "release.recipient",
        "who it went to (--for), a short name such as ontario-naloxone",
    ),
    ("release.min_cell", "the threshold it used"),
    ("release.row_count", "rows in it"),
    ("release.hidden_cells", "rows with a hidden number"),
    (
        "release.content",
        "the report, form or summary page exactly as released (aggregate numbers only)",
    ),
    ("contact_item", "what one contact received"),
    ("contact_item.contact_id", "the contact"),
    ("contact_item.item_id", "the item"),
    ("contact_item.quantity", "how many"),
    (
        "this_device",
        "this laptop's place among the program's laptops; empty on a program of one laptop",
    ),
    ("this_device.id", "always 1"),
    ("this_device.device", "this laptop's id: 16 random bytes"),
    ("this_device.role", "coordinator or worker"),
    (
        "this_device.signing_key",
        "this laptop's Ed25519 key that signs its bundles (inside the encrypted file only)",
    ),
    (
        "this_device.last_sent",
        "number of the last bundle it wrote",
    ),
    (
        "this_device.forwarded_batches",
        "worker: batches the coordinator acknowledged, then erased here",
    ),
    (
        "this_device.forwarded_contacts",
        "worker: contacts the coordinator acknowledged, then erased here",
    ),
    (
        "device",
        "the program's laptops, as the coordinator enrolled them",
    ),
    ("device.id", "the laptop's id: 16 random bytes"),
    (
        "device.label",
        "the coordinator's name for the laptop, e.g. van-2; never a person's",
    ),
    ("device.role", "coordinator or worker"),
    (
        "device.public_key",
        "the key its bundles' signatures are checked with",
    ),
    ("device.enrolled_on", "day it was enrolled"),
    ("device.revoked_on", "day it was revoked, if it was"),
    (
        "batch_origin",
        "each batch's identity across the program's laptops",
    ),
    ("batch_origin.batch_id", "the batch"),
    (
        "batch_origin.uid",
        "its id on every laptop: 16 random bytes made when it was saved",
    ),
    (
        "batch_origin.device",
        "the laptop that saved it (empty: this one)",
    ),
    (
        "batch_origin.number",
        "its batch number on the laptop that saved it (received batches)",
    ),
    (
        "batch_origin.content_digest",
        "keyed digest of its content as received, to notice the same id with other content",
    ),
    ("void_event", "every void, as it travels between laptops"),
    ("void_event.uid", "the void's id: 16 random bytes"),
    (
        "void_event.batch_uid",
        "the batch voided (its id across laptops)",
    ),
    (
        "void_event.position",
        "the contact voided (empty: the whole batch)",
    ),
    ("void_event.reason", "entry-error, duplicate or test"),
    ("void_event.voided_on", "day it was voided"),
    (
        "void_event.device",
        "the laptop that voided it (empty: this one)",
    ),
    ("received", "bundle numbers merged here, per sending laptop"),
    ("received.device", "the sending laptop"),
    ("received.seq", "the bundle's number"),
    (
        "received.digest",
        "SHA-256 of the bundle file (the file is sealed: it reveals nothing)",
    ),
    ("received.made_on", "day the bundle was made"),
    ("received.received_on", "day it was merged here"),
    (
        "acknowledged",
        "worker: its batches and voids the coordinator has, or refused",
    ),
    (
        "acknowledged.uid",
        "the batch's or void's id (16 random bytes)",
    ),
    (
        "acknowledged.refused",
        "1 if the coordinator refused the batch (its year was closed first)",
    ),
    (
        "sync_flag",
        "what a merge kept but a person should look at (kitlog sync status)",
    ),
    ("sync_flag.id", "row number"),
    ("sync_flag.flagged_on", "day it was raised"),
    (
        "sync_flag.kind",
        "other-content, same-sheet, item-category, closed-year or reused-number",
    ),
    ("sync_flag.device", "the laptop whose bundle raised it"),
    (
        "sync_flag.batch_uid",
        "the batch concerned (its id across laptops)",
    ),
    ("sync_flag.other_uid", "same-sheet: the other batch"),
    (
        "sync_flag.item",
        "item-category: the item (a catalogue name)",
    ),
    (
        "sync_flag.contacts",
        "closed-year: how many contacts were refused",
    ),
    (
        "sync_flag.seq",
        "reused-number: the bundle number that came again with other content",
    ),
];

/// What each report label column means; the measure columns are explained where they
/// are defined, in [`MEASURES`].
const EXPORTED: &[(&str, &str)] = &[
    (
        "period",
        "period label (2026-W47, 2026-11, FY2026-27 Q3, FY2026-27)",
    ),
    ("period_start", "first day of the period"),
    ("period_end", "last day of the period"),
    ("site", "site name, or ALL"),
    ("item", "item name or category, or ALL"),
];

/// Prints the stored fields and the exported columns.
pub(super) fn run(_context: &Context, out: &mut impl Write) -> Result<()> {
    let tables = describe_schema()?;
    let width = tables
        .iter()
        .flat_map(|t| &t.columns)
        .map(|(name, _)| name.len())
        .max()
        .unwrap_or(0);
    output(writeln!(
        out,
        "kitlog stores these fields in a program, and nothing else (schema {SCHEMA_VERSION}):"
    ))?;
    for table in &tables {
        output(writeln!(
            out,
            "\n{}: {}",
            table.name,
            meaning(STORED, &table.name)
        ))?;
        for (column, kind) in &table.columns {
            let key = format!("{}.{column}", table.name);
            output(writeln!(
                out,
                "  {column:width$}  {kind:7}  {}",
                meaning(STORED, &key)
            ))?;
        }
    }
    output(writeln!(
        out,
        "\nthe whole file is encrypted (SQLCipher): without a passphrase it shows nothing but its size\n\n\
         beside it, the key file (the program's name and .keys) holds one row per passphrase:\n\
         \x20 its label, the day it was set, its Argon2id cost and salt, and the program key sealed\n\
         \x20 under it (AES-256-GCM); never a passphrase, never the key"
    ))?;
    output(writeln!(
        out,
        "\nnever stored: names, birth dates, addresses, phone numbers, free text, times of day,\n\
         or the text typed to make a code (only its salted code)\n\n\
         a report (kitlog report) exports these columns, one row per period and site/item,\n\
         with counts below min_cell hidden as x:"
    ))?;
    let columns: Vec<&str> = LABEL_COLUMNS.into_iter().chain(measure_columns()).collect();
    let width = columns.iter().map(|c| c.len()).max().unwrap_or(0);
    for column in columns {
        output(writeln!(
            out,
            "  {column:width$}  {}",
            meaning(EXPORTED, column)
        ))?;
    }
    Ok(())
}

/// The meaning of `key`; the unit tests guarantee there is one. A measure's column,
/// in a report or among a closed year's frozen cells, means what [`MEASURES`] says.
fn meaning(table: &[(&str, &'static str)], key: &str) -> &'static str {
    let column = key
        .strip_prefix("closed_cell.")
        .or_else(|| key.strip_prefix("decided_cell."))
        .unwrap_or(key);
    let measure = MEASURES.iter().find(|(_, name, _)| *name == column);
    table
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, meaning)| *meaning)
        .or(measure.map(|(_, _, meaning)| *meaning))
        .unwrap_or("(undocumented)")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Adding a table or column to schema.sql fails here until it is explained above.
    #[test]
    fn every_stored_field_has_a_meaning_and_every_meaning_a_field() {
        let mut fields = Vec::new();
        for table in describe_schema().unwrap() {
            for (column, _) in &table.columns {
                fields.push(format!("{}.{column}", table.name));
            }
            fields.push(table.name);
        }
        let missing: Vec<_> = fields
            .iter()
            .filter(|f| meaning(STORED, f) == "(undocumented)")
            .collect();
        assert!(missing.is_empty(), "fields without a meaning: {missing:?}");
        let stale: Vec<_> = STORED
            .iter()
            .filter(|(k, _)| !fields.iter().any(|f| f == k))
            .collect();
        assert!(
            stale.is_empty(),
            "meanings of fields that no longer exist: {stale:?}"
        );
    }

    /// The same for the report's columns.
    #[test]
    fn every_exported_column_has_a_meaning_and_every_meaning_a_column() {
        let columns: Vec<&str> = LABEL_COLUMNS.into_iter().chain(measure_columns()).collect();
        for column in &columns {
            assert!(
                meaning(EXPORTED, column) != "(undocumented)",
                "report column {column} has no meaning"
            );
        }
        for (key, _) in EXPORTED {
            assert!(columns.contains(key), "{key} is not a report column");
        }
    }
}

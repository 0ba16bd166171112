//! `kitlog passphrase list|add|change|remove`: the key slots, one per passphrase.
//!
//! Every passphrase opens the same program key, so codes never change when a
//! passphrase does. Each change needs a passphrase that opens some slot, asked
//! first; it is checked before the new one is asked for, and again (by the slot's
//! bytes) inside the transaction that writes, so a wrong one writes nothing.

use std::io::Write;

use ring::rand::SystemRandom;

use super::{Context, output};
use crate::cli::PassphraseCommand;
use crate::error::{Error, Result};
use crate::keys::{KeySlot, ProgramKey};
use crate::store::{LabelledSlot, SlotChange, Store};

/// Longest slot label: room for `worker-` and initials or a role, not for a biography.
const MAX_LABEL_CHARS: usize = 24;

/// Dispatches the `passphrase` subcommands.
pub(super) fn run(
    command: PassphraseCommand,
    context: &Context,
    out: &mut impl Write,
) -> Result<()> {
    match command {
        PassphraseCommand::List => list(context, out),
        PassphraseCommand::Add { label } => add(&label, context, out),
        PassphraseCommand::Change { label } => change(label.as_deref(), context, out),
        PassphraseCommand::Remove { label } => remove(&label, context, out),
    }
}

/// Labels and the day each passphrase was set; needs no passphrase.
fn list(context: &Context, out: &mut impl Write) -> Result<()> {
    let store = Store::open(&context.db)?;
    let slots = store.labelled_key_slots()?;
    let width = slots
        .iter()
        .map(|s| s.label.len())
        .max()
        .unwrap_or(0)
        .max(5);
    output(writeln!(out, "{:width$}  set on", "label"))?;
    for slot in &slots {
        output(writeln!(out, "{:width$}  {}", slot.label, slot.created_on))?;
    }
    Ok(())
}

fn add(label: &str, context: &Context, out: &mut impl Write) -> Result<()> {
    let label = parse_label(label)?;
    let mut store = Store::open(&context.db)?;
    let slots = store.labelled_key_slots()?;
    if slots.iter().any(|s| s.label == label) {
        return Err(Error::SlotLabelTaken(label));
    }
    let (opened, slot) = open_and_seal_new(&store, &slots, context)?;
    store.change_key_slots(
        opened,
        &SlotChange::Add {
            label: &label,
            slot: &slot,
        },
        context.today,
    )?;
    output(writeln!(
        out,
        "added passphrase {label}; {} passphrases open this program now, all giving the same codes",
        slots.len() + 1
    ))
}

fn change(label: Option<&str>, context: &Context, out: &mut impl Write) -> Result<()> {
    let label = label.map(parse_label).transpose()?;
    let mut store = Store::open(&context.db)?;
    let slots = store.labelled_key_slots()?;
    let named = match &label {
        Some(label) => Some(find(&slots, label)?),
        None => None,
    };
    let (opened, slot) = open_and_seal_new(&store, &slots, context)?;
    // Without --label, the slot the current passphrase opened is the one changed.
    let target = named.unwrap_or(opened);
    store.change_key_slots(
        opened,
        &SlotChange::Replace {
            target,
            slot: &slot,
        },
        context.today,
    )?;
    output(writeln!(
        out,
        "changed passphrase {}; codes are unchanged, and the old passphrase no longer opens this file\n\
         note: copies of the file made before now (backups) still open with the old passphrase",
        target.label
    ))
}

fn remove(label: &str, context: &Context, out: &mut impl Write) -> Result<()> {
    let label = parse_label(label)?;
    let mut store = Store::open(&context.db)?;
    let slots = store.labelled_key_slots()?;
    let target = find(&slots, &label)?;
    if slots.len() == 1 {
        return Err(Error::LastKeySlot(label));
    }
    let opened = {
        let passphrase = context.passphrase.read()?;
        let (index, _key) = ProgramKey::unlock_slot(
            &passphrase,
            &plain_slots(&slots),
            &store.settings()?.key_check,
        )?;
        &slots[index]
    };
    store.change_key_slots(opened, &SlotChange::Remove { target }, context.today)?;
    let left = slots.len() - 1;
    let noun = if left == 1 {
        "passphrase"
    } else {
        "passphrases"
    };
    output(writeln!(
        out,
        "removed passphrase {label}; it no longer opens this file ({left} {noun} left)\n\
         note: copies of the file made before now (backups) still open with it"
    ))
}

/// Asks for a passphrase that opens a slot, then (only if it does) for the new one,
/// which must not open any slot already; returns the opened slot and the program key
/// sealed under the new passphrase. Key and passphrases are wiped on return.
fn open_and_seal_new<'a>(
    store: &Store,
    slots: &'a [LabelledSlot],
    context: &Context,
) -> Result<(&'a LabelledSlot, KeySlot)> {
    let check = store.settings()?.key_check;
    let plain = plain_slots(slots);
    let (index, key) = {
        let current = context.passphrase.read()?;
        ProgramKey::unlock_slot(&current, &plain, &check)?
    };
    let new = context.passphrase.read_replacement()?;
    if ProgramKey::unlock(&new, &plain, &check).is_ok() {
        return Err(Error::PassphraseInUse);
    }
    let slot = key.seal(&new, &SystemRandom::new())?;
    Ok((&slots[index], slot))
}

fn plain_slots(slots: &[LabelledSlot]) -> Vec<KeySlot> {
    slots.iter().map(|s| s.slot.clone()).collect()
}

fn find<'a>(slots: &'a [LabelledSlot], label: &str) -> Result<&'a LabelledSlot> {
    slots
        .iter()
        .find(|s| s.label == label)
        .ok_or_else(|| Error::NoSuchSlot(label.to_owned()))
}

/// A slot label: a short lowercase slug such as `worker-jd`, never a sentence.
fn parse_label(text: &str) -> Result<String> {
    let label = text.trim().to_ascii_lowercase();
    let valid = (1..=MAX_LABEL_CHARS).contains(&label.len())
        && label.starts_with(|c: char| c.is_ascii_lowercase())
        && label
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid {
        Ok(label)
    } else {
        Err(Error::InvalidSlotLabel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_short_slugs() {
        assert_eq!(parse_label(" Worker-JD ").unwrap(), "worker-jd");
        for bad in [
            "",
            "9lives",
            "jane doe",
            "worker_jd",
            "a-very-long-label-for-a-slot",
        ] {
            assert!(parse_label(bad).is_err(), "{bad:?} was accepted");
        }
    }
}

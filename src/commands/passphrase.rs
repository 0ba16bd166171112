//! `kitlog passphrase list|add|change|remove`: the key slots, one per passphrase,
//! kept in the key file beside the program.
//!
//! Every passphrase opens the same program key, so codes never change when a
//! passphrase does. Each change needs a passphrase that opens some slot, asked
//! first; it is checked before the new one is asked for. The key file is re-read
//! and rewritten while the program's write lock is held, and only if the slot the
//! passphrase opened is still there unchanged, so two changes at once cannot undo
//! each other and a wrong passphrase writes nothing.

use std::io::Write;

use ring::rand::SystemRandom;

use super::{Context, output};
use crate::cli::PassphraseCommand;
use crate::error::{Error, Result};
use crate::keyfile::{
    commit_pending_key_file, read_key_file, write_key_file, write_pending_key_file,
};
use crate::keys::{KeySlot, ProgramKey};
use crate::text::Count;
use crate::unlock::Program;

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
        PassphraseCommand::Remove { label, rotate } => remove(&label, rotate, context, out),
    }
}

/// Labels, the day each passphrase was set, and how it is stretched.
fn list(context: &Context, out: &mut impl Write) -> Result<()> {
    let program = context.unlock()?;
    let width = program
        .slots
        .iter()
        .map(|s| s.label.len())
        .max()
        .unwrap_or(0)
        .max(5);
    output(writeln!(out, "{:width$}  set on", "label"))?;
    for slot in &program.slots {
        output(writeln!(out, "{:width$}  {}", slot.label, slot.created_on))?;
    }
    Ok(())
}

fn add(label: &str, context: &Context, out: &mut impl Write) -> Result<()> {
    let label = parse_label(label)?;
    let mut program = context.unlock()?;
    if program.slots.iter().any(|s| s.label == label) {
        return Err(Error::SlotLabelTaken(label));
    }
    let slot = seal_new(&program, &label, context)?;
    let count = rewrite(&mut program, context, |slots| {
        if slots.iter().any(|s| s.label == label) {
            return Err(Error::SlotLabelTaken(label.clone()));
        }
        slots.push(slot);
        Ok(())
    })?;
    output(writeln!(
        out,
        "added passphrase {label}; {count} passphrases open this program now, all giving the same codes"
    ))
}

fn change(label: Option<&str>, context: &Context, out: &mut impl Write) -> Result<()> {
    let label = label.map(parse_label).transpose()?;
    let mut program = context.unlock()?;
    // Without --label, the slot the current passphrase opened is the one changed.
    let target = match &label {
        Some(label) => find(&program.slots, label)?.label.clone(),
        None => program.slots[program.opened].label.clone(),
    };
    let slot = seal_new(&program, &target, context)?;
    rewrite(&mut program, context, |slots| {
        let place = slots
            .iter_mut()
            .find(|s| s.label == target)
            .ok_or_else(|| Error::NoSuchSlot(target.clone()))?;
        *place = slot;
        Ok(())
    })?;
    output(writeln!(
        out,
        "changed passphrase {target}; codes are unchanged, and the old passphrase no longer opens this file\n\
         note: copies of the file made before now (backups) still open with the old passphrase"
    ))
}

fn remove(label: &str, rotate: bool, context: &Context, out: &mut impl Write) -> Result<()> {
    let label = parse_label(label)?;
    let mut program = context.unlock()?;
    find(&program.slots, &label)?;
    if program.slots.len() == 1 {
        return Err(Error::LastKeySlot(label));
    }
    if rotate {
        // Every laptop of the program shares its key: a new one here would part this
        // laptop from the others (bundles would no longer open, codes would differ).
        if program.store.this_device()?.is_some() {
            return Err(Error::RotationWithDevices);
        }
        return remove_and_rotate(&label, program, context, out);
    }
    let left = rewrite(&mut program, context, |slots| {
        if slots.len() <= 1 {
            return Err(Error::LastKeySlot(label.clone()));
        }
        let before = slots.len();
        slots.retain(|s| s.label != label);
        if slots.len() == before {
            return Err(Error::NoSuchSlot(label.clone()));
        }
        Ok(())
    })?;
    output(writeln!(
        out,
        "removed passphrase {label}; it no longer opens this file ({} left)\n\
         note: copies of the file made before now (backups) still open with it, and give the\n\
         \x20 key of this file; to replace the key, remove with --rotate",
        Count::of(left, "passphrase")
    ))
}

/// `remove --rotate`: a new program key, the file re-encrypted under it, and every
/// remaining slot given the new key (wrapped for its public key, so no other
/// passphrase is needed). The code keys of every fiscal year up to this one that still
/// holds codes are carried over inside the file, so codes stay the same; later years
/// take theirs from the new key, which the removed passphrase never opened.
///
/// Order, for a crash at any point: the write lock is taken (and kept: exclusive
/// locking mode) before anything; the carried keys are saved; the new key file is
/// written beside the old; the file is re-encrypted (one transaction); the new key
/// file is renamed into place. [`crate::unlock::open_program`] finishes or discards
/// a rotation cut short between the last two steps.
fn remove_and_rotate(
    label: &str,
    mut program: Program,
    context: &Context,
    out: &mut impl Write,
) -> Result<()> {
    let random = SystemRandom::new();
    let new_key = ProgramKey::generate(&random)?;
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    for slot in program.slots.iter().filter(|s| s.label != label) {
        match new_key.rewrap(slot, &random)? {
            Some(slot) => kept.push(slot),
            None => dropped.push(slot.label.clone()),
        }
    }
    let calendar = program.store.settings()?.calendar;
    let this_year = calendar.year_of(context.today);
    let first = program
        .store
        .earliest_year_with_codes()?
        .map_or(this_year.start_year(), |year| {
            year.min(this_year.start_year())
        });
    let mut carried = Vec::new();
    let mut year = calendar.year_of(
        chrono::NaiveDate::from_ymd_opt(first, calendar.start_month(), 1).unwrap_or(context.today),
    );
    while year.start_year() <= this_year.start_year() {
        carried.push((year, program.key.epoch_key(year)));
        year = year.next();
    }
    let store = &mut program.store;
    store.lock_exclusively()?;
    store.carry_epoch_keys(&carried)?;
    write_pending_key_file(&context.db, &kept)?;
    store.rekey(&new_key.database_key(), &new_key.key_check())?;
    commit_pending_key_file(&context.db)?;
    output(writeln!(
        out,
        "removed passphrase {label} and replaced the program key ({} left); codes of {} and earlier stay the same\n\
         note: the removed passphrase still opens copies of the file made before now (backups): destroy them",
        Count::of(kept.len(), "passphrase"),
        this_year,
    ))?;
    if !dropped.is_empty() {
        output(writeln!(
            out,
            "note: {} had not been typed since kitlog began encrypting the file, so it could not be given the new key; add it again with kitlog passphrase add",
            dropped.join(", ")
        ))?;
    }
    Ok(())
}

/// Asks for the new passphrase (only now that the current one opened the program),
/// which must not open any slot already, and seals the program key under it.
fn seal_new(program: &Program, label: &str, context: &Context) -> Result<KeySlot> {
    let new = context.passphrase.read_replacement()?;
    if ProgramKey::unlock(&new, &program.slots).is_ok() {
        return Err(Error::PassphraseInUse);
    }
    program.key.seal(
        label,
        &context.today.to_string(),
        &new,
        &SystemRandom::new(),
    )
}

/// Applies `change` to the key file under the program's write lock, if the slot the
/// passphrase opened is still stored unchanged (else another kitlog changed the slots
/// meanwhile, and nothing is written). Returns how many slots there are after.
fn rewrite(
    program: &mut Program,
    context: &Context,
    change: impl FnOnce(&mut Vec<KeySlot>) -> Result<()>,
) -> Result<usize> {
    let opened = program.slots[program.opened].clone();
    let db = context.db.clone();
    program.store.while_locked(|| {
        let mut slots = read_key_file(&db)?;
        if !slots.contains(&opened) {
            return Err(Error::WrongPassphrase);
        }
        change(&mut slots)?;
        write_key_file(&db, &slots, false)?;
        Ok(slots.len())
    })
}

fn find<'a>(slots: &'a [KeySlot], label: &str) -> Result<&'a KeySlot> {
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

//! `kitlog device add|join|list|revoke`: the program's laptops.
//!
//! The first `device add` makes this program the coordinator (its own id and signing
//! key). Each added laptop gets an enrolment file and a one-time passphrase shown
//! here, to be told in person: the file alone opens nothing, and the passphrase alone
//! has nothing to open.

use std::io::Write;
use std::path::{Path, PathBuf};

use ring::rand::SystemRandom;

use super::report::write_atomically;
use super::{Context, coordinator_only, output};
use crate::cli::DeviceCommand;
use crate::error::{Error, Result};
use crate::keyfile::{decode_slots, encode_slots};
use crate::keys::{Passphrase, ProgramKey, random_id};
use crate::store::{NewProgram, enrolment_settings};
use crate::sync::{
    enrolment_slot, new_signing_key, one_time_passphrase, open_enrolment, seal_enrolment, short_id,
};
use crate::unlock::create_program;

/// The label of the key slot a joined laptop's own passphrase opens.
const JOINED_SLOT_LABEL: &str = "initial";

pub(super) fn run(command: DeviceCommand, context: &Context, out: &mut impl Write) -> Result<()> {
    match command {
        DeviceCommand::Add { label, out: file } => add(&label, file, context, out),
        DeviceCommand::Join { file } => join(&file, context, out),
        DeviceCommand::List => list(context, out),
        DeviceCommand::Revoke { label } => {
            let mut store = context.unlock()?.store;
            coordinator_only(&store, "revoking a laptop")?;
            let label = device_label(&label)?;
            store.revoke_device(&label, context.today)?;
            output(writeln!(
                out,
                "revoked {label}: its bundles are refused from now on; what it sent before stays.\n\
                 note: a revoked laptop still holds the program key; if it was lost or stolen, think about\n\
                 \x20 what its passphrase protects (see the README: several laptops, what a stolen laptop gives away)"
            ))
        }
    }
}

/// A device label: 1 to 24 of `a-z`, `0-9` and `-`, lower-cased.
fn device_label(text: &str) -> Result<String> {
    let label = text.trim().to_lowercase();
    let ok = (1..=24).contains(&label.len())
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(label)
    } else {
        Err(Error::InvalidDeviceLabel)
    }
}

fn add(label: &str, file: Option<PathBuf>, context: &Context, out: &mut impl Write) -> Result<()> {
    let label = device_label(label)?;
    let file = file.unwrap_or_else(|| PathBuf::from(format!("kitlog-enrol-{label}.kle")));
    if file.exists() {
        return Err(Error::OutputExists(file));
    }
    let program = context.unlock()?;
    let mut store = program.store;
    coordinator_only(&store, "enrolling a laptop")?;
    if store.devices()?.iter().any(|d| d.label == label) {
        return Err(Error::DeviceExists(label));
    }
    if store.this_device()?.is_none() {
        let (signing_key, public_key) = new_signing_key()?;
        store.become_coordinator(&random_id()?, &signing_key, &public_key, context.today)?;
        output(writeln!(
            out,
            "this laptop is now the program's coordinator: it merges the other laptops' bundles and reports for the whole program"
        ))?;
    }
    let id = random_id()?;
    let (signing_key, public_key) = new_signing_key()?;
    let image = store.enrolment_image(&id, &label, (&signing_key, &public_key), context.today)?;
    let spoken = one_time_passphrase()?;
    let slot = program.key.seal(
        "enrolment",
        &context.today.to_string(),
        &typed_form(&spoken),
        &SystemRandom::new(),
    )?;
    let sealed = seal_enrolment(&program.key, &encode_slots(&[slot]), &image)?;
    write_atomically(&file, &sealed)?;
    if let Err(error) = store.add_device(&id, &label, &public_key, context.today) {
        let _ = std::fs::remove_file(&file);
        return Err(error);
    }
    output(writeln!(
        out,
        "enrolled {label} (device {}); its enrolment file is {}\n\
         one-time passphrase, to tell the worker in person or by phone (never send it with the file):\n\n\
         \x20   {}\n\n\
         on the new laptop: kitlog device join {}   then delete the file (shred -u)",
        short_id(&id),
        file.display(),
        spoken.as_str(),
        super::import::shell_word(&file),
    ))
}

/// A one-time passphrase as it is sealed and compared: letters and digits only, in
/// capitals, so `abcde fghjk` typed by a tired worker opens `ABCDE-FGHJK`.
fn typed_form(passphrase: &Passphrase) -> Passphrase {
    Passphrase::new(
        passphrase
            .as_str()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
            .collect(),
    )
}

fn join(file: &Path, context: &Context, out: &mut impl Write) -> Result<()> {
    if context.db.exists() {
        return Err(Error::ProgramExists(context.db.clone()));
    }
    let key_file = crate::keyfile::key_file_path(&context.db);
    if key_file.exists() {
        return Err(Error::ProgramExists(key_file));
    }
    let bytes = std::fs::read(file).map_err(|e| Error::file("read", file, &e))?;
    let not_enrolment = || Error::NotAnEnrolment(file.to_owned());
    let slots = enrolment_slot(&bytes)
        .and_then(decode_slots)
        .ok_or_else(not_enrolment)?;
    let one_time = typed_form(&context.passphrase.read_one_time()?);
    let (_, key): (usize, ProgramKey) =
        ProgramKey::unlock(&one_time, &slots).map_err(|_| Error::WrongEnrolmentPassphrase)?;
    drop(one_time);
    let image = open_enrolment(&key, &bytes).ok_or_else(not_enrolment)?;
    let (settings, created_on, label) = enrolment_settings(&image)?;
    if !key.passes_check(&settings.key_check) {
        return Err(not_enrolment());
    }
    let passphrase = context.passphrase.read_replacement()?;
    let slot = key.seal(
        JOINED_SLOT_LABEL,
        &context.today.to_string(),
        &passphrase,
        &SystemRandom::new(),
    )?;
    drop(passphrase);
    let mut store = create_program(
        &context.db,
        &NewProgram {
            settings: &settings,
            today: created_on,
        },
        &key,
        &slot,
    )?;
    if let Err(error) = store.adopt_enrolment(&image) {
        drop(store);
        let _ = std::fs::remove_file(&context.db);
        let _ = std::fs::remove_file(&key_file);
        return Err(error);
    }
    output(writeln!(
        out,
        "joined the program as {label}; its file is {}\n\
         after each shift: kitlog send FOLDER (or kitlog sync FOLDER); contacts are erased here once the coordinator has them\n\
         now delete the enrolment file: shred -u {}",
        context.db.display(),
        super::import::shell_word(file),
    ))
}

fn list(context: &Context, out: &mut impl Write) -> Result<()> {
    let store = context.unlock()?.store;
    let me = store.this_device()?;
    let devices = store.devices()?;
    let Some(me) = me else {
        return output(writeln!(
            out,
            "this program lives on this laptop only; enrol another with kitlog device add LABEL"
        ));
    };
    output(writeln!(
        out,
        "{:<24} {:<8} {:<11} {:<10} {:<11} {:<11} revoked",
        "label", "device", "role", "enrolled", "last bundle", "made on"
    ))?;
    for device in devices {
        let this = if device.id == me.id {
            " (this laptop)"
        } else {
            ""
        };
        output(writeln!(
            out,
            "{:<24} {:<8} {:<11} {:<10} {:<11} {:<11} {}{this}",
            device.label,
            short_id(&device.id),
            device.role.as_str(),
            device.enrolled_on,
            device
                .last_seq
                .map_or_else(|| "-".to_owned(), |n| n.to_string()),
            device.last_made_on.as_deref().unwrap_or("-"),
            device.revoked_on.as_deref().unwrap_or("-"),
        ))?;
    }
    Ok(())
}

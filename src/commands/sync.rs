//! `kitlog send DIR`, `receive DIR`, `sync DIR` and `sync status`: bundles through a
//! folder. The folder can be a USB stick, a shared drive or a Syncthing folder; kitlog
//! only reads and writes `*.klb` files in it, and running any of these twice is
//! harmless.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::report::write_atomically;
use super::{Context, output};
use crate::error::{Error, Result};
use crate::store::{Merged, Store, ThisDevice};
use crate::sync::{
    BUNDLE_FORMAT, BUNDLE_SUFFIX, BundleHeader, BundleRefusal, Role, bundle_file_name, open_bundle,
    read_bundle_header, seal_bundle, short_id,
};
use crate::text::Count;
use crate::unlock::Program;

pub(super) fn send(dir: &Path, context: &Context, out: &mut impl Write) -> Result<()> {
    let mut program = context.unlock()?;
    send_with(&mut program, dir, context, out)
}

pub(super) fn receive(dir: &Path, context: &Context, out: &mut impl Write) -> Result<()> {
    let mut program = context.unlock()?;
    receive_with(&mut program, dir, context, out, false)
}

pub(super) fn sync(target: &Path, context: &Context, out: &mut impl Write) -> Result<()> {
    let mut program = context.unlock()?;
    if target == Path::new("status") {
        return status(&program.store, out);
    }
    let received = receive_with(&mut program, target, context, out, true);
    send_with(&mut program, target, context, out)?;
    received
}

fn enrolled(store: &Store) -> Result<ThisDevice> {
    store.this_device()?.ok_or(Error::NotEnrolled)
}

fn send_with(
    program: &mut Program,
    dir: &Path,
    context: &Context,
    out: &mut impl Write,
) -> Result<()> {
    let me = enrolled(&program.store)?;
    if !dir.is_dir() {
        return Err(Error::file(
            "write into",
            dir,
            &std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    }
    let outgoing = program.store.next_bundle(&program.key, context.today)?;
    let header = BundleHeader {
        format: BUNDLE_FORMAT,
        device: me.id,
        seq: outgoing.seq,
    };
    let sealed = seal_bundle(&program.key, &me.signing_key, header, &outgoing.image)?;
    drop(outgoing.image);
    let name = bundle_file_name(&me.id, outgoing.seq);
    write_atomically(&dir.join(&name), &sealed)?;
    // Each new bundle stands for this laptop's earlier ones (a worker's holds all it has
    // not had acknowledged; the coordinator's is its whole state): fewer copies of codes.
    let removed = remove_superseded(dir, &me, outgoing.seq);
    let what = match me.role {
        Role::Worker => format!(
            "{} ({}) not yet acknowledged by the coordinator",
            Count(outgoing.batches, "batch"),
            Count(outgoing.contacts, "contact")
        ),
        Role::Coordinator => {
            "the device list, catalogue, voids, closed years and acknowledgements for the laptops"
                .to_owned()
        }
    };
    output(writeln!(out, "sent {name} into {}: {what}", dir.display()))?;
    if removed > 0 {
        output(writeln!(
            out,
            "removed {} this laptop wrote before (the new one stands for {})",
            Count(removed, "older bundle"),
            if removed == 1 { "it" } else { "them" }
        ))?;
    }
    Ok(())
}

/// Removes this device's own bundles older than `seq` from `dir`; returns how many.
fn remove_superseded(dir: &Path, me: &ThisDevice, seq: u64) -> u64 {
    let mut removed = 0;
    for path in bundle_files(dir).unwrap_or_default() {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        if let Ok(header) = read_bundle_header(&bytes) {
            if header.device == me.id && header.seq < seq && std::fs::remove_file(&path).is_ok() {
                removed += 1;
            }
        }
    }
    removed
}

/// The `*.klb` files in `dir`, in name order (each device's in number order).
fn bundle_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::file("read", dir, &e))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(std::result::Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.is_file()
                && path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with(BUNDLE_SUFFIX) && !n.starts_with('.'))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// What became of one bundle file.
enum Outcome {
    Merged(String, Merged),
    Known,
    Skipped,
    Refused(String),
}

/// With `sending_next` (`sync`), this laptop's next bundle follows at once, so the
/// reminder to send is left out.
fn receive_with(
    program: &mut Program,
    dir: &Path,
    context: &Context,
    out: &mut impl Write,
    sending_next: bool,
) -> Result<()> {
    let me = enrolled(&program.store)?;
    let files = bundle_files(dir)?;
    let (mut failed, mut total, mut known, mut skipped) = (0, 0, 0, 0);
    let mut erased_here = false;
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match receive_one(program, &me, &path, context)? {
            Outcome::Skipped => skipped += 1,
            Outcome::Known => {
                total += 1;
                known += 1;
            }
            Outcome::Refused(reason) => {
                total += 1;
                failed += 1;
                output(writeln!(
                    out,
                    "{name}: refused: {reason}; nothing of it was merged"
                ))?;
            }
            Outcome::Merged(label, merged) => {
                total += 1;
                erased_here |= merged.erased.0 + merged.refused_here.0 > 0;
                output(writeln!(
                    out,
                    "{name} from {label}: {}",
                    describe(&merged, me.role)
                ))?;
                for year in &merged.years_to_close {
                    // A shift draft of that year stops the close here; the
                    // coordinator's bundle is merged again at every receive, so the
                    // close is tried again then.
                    match super::close_year::close(&mut program.store, *year, context.today) {
                        Ok((erased, _)) => output(writeln!(
                            out,
                            "  the coordinator closed the fiscal year starting {year}: its {} here were erased",
                            Count(erased as u64, "participant code")
                        ))?,
                        Err(error) => output(writeln!(
                            out,
                            "  the coordinator closed the fiscal year starting {year}, but it could not be closed here yet ({error}); kitlog receive tries again"
                        ))?,
                    }
                }
            }
        }
    }
    if total == 0 {
        output(writeln!(
            out,
            "no bundles for this laptop in {}{}",
            dir.display(),
            if skipped > 0 {
                " (only its own, or other laptops' for the coordinator)"
            } else {
                ""
            }
        ))?;
    } else if known > 0 {
        output(writeln!(
            out,
            "{} already merged before",
            Count(known as u64, "bundle")
        ))?;
    }
    if erased_here && !sending_next {
        output(writeln!(
            out,
            "note: this laptop's earlier bundles still hold those contacts until its next send replaces them: kitlog send FOLDER"
        ))?;
    }
    if me.role == Role::Worker {
        if let Some(day) = revoked_on(&program.store.devices()?, &me) {
            output(writeln!(out, "warning: {}", revoked_sentence(&day)))?;
        }
    }
    if failed > 0 {
        return Err(Error::BundlesRefused { failed, total });
    }
    Ok(())
}

fn receive_one(
    program: &mut Program,
    me: &ThisDevice,
    path: &Path,
    context: &Context,
) -> Result<Outcome> {
    let bytes = std::fs::read(path).map_err(|e| Error::file("read", path, &e))?;
    let header = match read_bundle_header(&bytes) {
        Ok(header) => header,
        Err(BundleRefusal::NewerFormat(_)) => {
            return Ok(Outcome::Refused(
                "a newer kitlog made it; update kitlog on this laptop, then receive again"
                    .to_owned(),
            ));
        }
        Err(_) => return Ok(Outcome::Refused("it is not a kitlog bundle".to_owned())),
    };
    if header.device == me.id {
        return Ok(Outcome::Skipped);
    }
    let devices = program.store.devices()?;
    let sender = devices.iter().find(|d| d.id == header.device);
    // A worker takes only the coordinator's bundles. Other workers' may share the
    // folder, including one enrolled since this laptop last heard the device list.
    if me.role == Role::Worker {
        match sender {
            Some(sender) if sender.role == Role::Coordinator => {}
            _ => return Ok(Outcome::Skipped),
        }
    }
    let Some(sender) = sender else {
        return Ok(Outcome::Refused(format!(
            "it comes from a laptop ({}) this program has not enrolled, or from another program",
            short_id(&header.device)
        )));
    };
    if sender.role != Role::Worker && me.role == Role::Coordinator {
        return Ok(Outcome::Skipped);
    }
    if let Some(day) = &sender.revoked_on {
        return Ok(Outcome::Refused(format!(
            "it comes from {}, revoked on {day}",
            sender.label
        )));
    }
    // A file whose bytes are those of a bundle merged before passed every check then:
    // skipped. (The coordinator's bundles are small and state-like: a laptop merges
    // them again each time, so a close that could not finish there is tried again.)
    let digest: [u8; 32] = ring::digest::digest(&ring::digest::SHA256, &bytes)
        .as_ref()
        .try_into()
        .expect("32 bytes");
    if me.role == Role::Coordinator
        && program
            .store
            .has_received(&sender.id, header.seq, &digest)?
    {
        return Ok(Outcome::Known);
    }
    let Ok(image) = open_bundle(&program.key, &sender.public_key, &bytes) else {
        return Ok(Outcome::Refused(format!(
            "its seal or signature does not check (changed, cut short, or not made by {})",
            sender.label
        )));
    };
    // The merge is one transaction: whatever stopped it (a row breaking a rule of the
    // schema, a full disk) left nothing of the bundle, so it is refused with its reason
    // and the other bundles are still tried.
    match program
        .store
        .merge_bundle(sender, (header.seq, &digest), &image, context.today)
    {
        Ok(merged) => Ok(Outcome::Merged(sender.label.clone(), merged)),
        Err(error) => Ok(Outcome::Refused(error.to_string())),
    }
}

/// The day the coordinator revoked this laptop, if it did (as the device list it
/// sent says).
fn revoked_on(devices: &[crate::store::Device], me: &ThisDevice) -> Option<String> {
    devices
        .iter()
        .find(|d| d.id == me.id)
        .and_then(|d| d.revoked_on.clone())
}

fn revoked_sentence(day: &str) -> String {
    format!(
        "the coordinator revoked this laptop on {day}; its bundles are refused from then on: ask the coordinator"
    )
}

fn describe(merged: &Merged, me: Role) -> String {
    let mut parts = Vec::new();
    if me == Role::Coordinator && (merged.new_batches > 0 || merged.known_batches == 0) {
        parts.push(format!(
            "{} new ({})",
            Count(merged.new_batches, "batch"),
            Count(merged.new_contacts, "contact")
        ));
    }
    if merged.known_batches > 0 {
        parts.push(format!(
            "{} already here",
            Count(merged.known_batches, "batch")
        ));
    }
    if merged.refused.0 > 0 {
        parts.push(format!(
            "{} ({}) refused: their fiscal year is closed",
            Count(merged.refused.0, "batch"),
            Count(merged.refused.1, "contact")
        ));
    }
    if merged.new_voids > 0 {
        parts.push(Count(merged.new_voids, "new void").to_string());
    }
    if merged.voids_in_closed_years > 0 {
        parts.push(format!(
            "{} not applied: their year is closed",
            Count(merged.voids_in_closed_years, "void")
        ));
    }
    if merged.new_catalogue > 0 {
        parts.push(format!(
            "{} new",
            Count(merged.new_catalogue, "site or item")
        ));
    }
    if merged.erased.0 > 0 {
        parts.push(format!(
            "the coordinator has {}; they were erased here",
            Count(merged.erased.1, "more contact")
        ));
    }
    if merged.refused_here.0 > 0 {
        parts.push(format!(
            "the coordinator refused {} of a fiscal year it had closed; they were erased here and are in no report",
            Count(merged.refused_here.1, "contact")
        ));
    }
    if merged.flags > 0 {
        parts.push(format!(
            "{} to review (kitlog sync status)",
            Count(merged.flags, "flag")
        ));
    }
    if parts.is_empty() {
        return "nothing new".to_owned();
    }
    parts.join("; ")
}

fn status(store: &Store, out: &mut impl Write) -> Result<()> {
    let me = enrolled(store)?;
    let devices = store.devices()?;
    let label = devices
        .iter()
        .find(|d| d.id == me.id)
        .map_or("this laptop", |d| d.label.as_str());
    output(writeln!(
        out,
        "this laptop: {label} ({}), device {}; bundles sent: {}",
        me.role.as_str(),
        short_id(&me.id),
        me.last_sent
    ))?;
    if me.role == Role::Worker {
        let waiting: Vec<_> = store
            .batches()?
            .into_iter()
            .filter(|b| !b.forwarded)
            .collect();
        let contacts: i64 = waiting.iter().map(|b| b.contacts).sum();
        output(writeln!(
            out,
            "waiting for the coordinator's acknowledgement: {} ({}); erased here after acknowledgement so far: {} ({})",
            Count(waiting.len() as u64, "batch"),
            Count(contacts as u64, "contact"),
            Count(me.forwarded.0, "batch"),
            Count(me.forwarded.1, "contact"),
        ))?;
    }
    // A worker hears only from the coordinator; other laptops are no business of its.
    let others = devices
        .iter()
        .filter(|d| d.id != me.id)
        .filter(|d| me.role == Role::Coordinator || d.role == Role::Coordinator);
    if let Some(day) = revoked_on(&devices, &me) {
        output(writeln!(out, "{}", revoked_sentence(&day)))?;
    }
    for device in others {
        let mut line = format!("{} ({}): ", device.label, device.role.as_str());
        match (device.last_seq, &device.last_made_on) {
            (Some(seq), Some(day)) => {
                let _ = write!(line, "last bundle {seq}, made {day}");
            }
            _ => line.push_str("no bundle merged yet"),
        }
        if let Some(day) = &device.revoked_on {
            let _ = write!(line, "; revoked on {day}");
        }
        output(writeln!(out, "{line}"))?;
    }
    let flags = store.sync_flags()?;
    if flags.is_empty() {
        return output(writeln!(out, "nothing to review"));
    }
    output(writeln!(out, "to review:"))?;
    for flag in flags {
        let from = flag.device.as_deref().unwrap_or("this laptop");
        let batch = |n: Option<i64>| n.map_or_else(|| "?".to_owned(), |n| n.to_string());
        let text = match flag.kind.as_str() {
            "other-content" => format!(
                "batch {} arrived again from {from} with other content; the first copy is kept",
                batch(flag.batch)
            ),
            "same-sheet" => format!(
                "batch {} from {from} holds the same sheet as batch {}: if it was imported twice, void one (kitlog void N --reason duplicate)",
                batch(flag.batch),
                batch(flag.other_batch)
            ),
            "item-category" => format!(
                "{from} has item {} in another category; this program's category is kept",
                flag.item.as_deref().unwrap_or("?")
            ),
            "closed-year" => format!(
                "a batch of {} from {from} was refused: its fiscal year is closed",
                Count(flag.contacts.unwrap_or(0) as u64, "contact")
            ),
            "reused-number" => format!(
                "{from} sent bundle {} twice with other content: a laptop restored from a backup, or one enrolment file joined on two laptops; both were merged, nothing is lost; if two laptops share it, revoke it and enrol each again",
                flag.seq.unwrap_or(0)
            ),
            other => other.to_owned(),
        };
        output(writeln!(out, "  {}: {text}", flag.flagged_on))?;
    }
    Ok(())
}

//! Convergence, as a property: random histories on two worker laptops (batches,
//! voids of batches and contacts, sites added and retired in the field, sends at
//! random points, the coordinator's bundles coming down with acknowledgements, so
//! that workers forget and void what is already gone), then every bundle ever made
//! delivered to a second copy of the coordinator in a random order with random
//! duplicates. Both coordinators must hold one identical program (a fingerprint that
//! ignores local row numbers), and the coordinator's reports must be byte for byte
//! those of one program that saved the same records on one laptop.
//!
//! Driven through the library (the store, the bundle images), not the binary: a
//! case makes a few dozen bundles, which the binary's passphrase stretching would
//! make minutes.

use std::path::Path;

use chrono::NaiveDate;
use kitlog::code::ParticipantCode;
use kitlog::contact::{BatchHeader, BatchSource, Contact, Counts, VoidReason};
use kitlog::fiscal::{FiscalCalendar, PeriodKind};
use kitlog::keys::{ProgramKey, random_id};
use kitlog::report::release::{Request, prepare, render};
use kitlog::report::{Dimensions, ItemLevel};
use kitlog::store::{Device, NewProgram, Settings, Store};
use kitlog::sync::new_signing_key;
use proptest::prelude::*;
use ring::rand::SystemRandom;

use crate::harness::connect;

const SITES: [&str; 4] = ["site-a", "site-b", "site-c", "site-d"];
const ITEMS: [&str; 3] = ["injection-kit", "stem-pipe", "naloxone-nasal"];

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// What a worker (0 or 1) does next.
#[derive(Debug, Clone)]
enum Op {
    /// Saves a batch at a site: per contact (code number or anonymous, day offset,
    /// item, quantity).
    Save {
        worker: usize,
        site: usize,
        contacts: Vec<(Option<u8>, u8, usize, u32)>,
    },
    /// Voids the worker's `pick`-th batch, whole or one contact of it.
    Void {
        worker: usize,
        pick: usize,
        contact: Option<usize>,
    },
    /// Adds a site in the field (sites a and b come from the coordinator).
    AddSite { worker: usize, site: usize },
    /// Retires a site.
    Retire { worker: usize, site: usize },
    /// Writes the worker's next bundle.
    Send { worker: usize },
    /// The coordinator merges what was sent so far and sends its bundle down.
    Down,
}

fn op() -> impl Strategy<Value = Op> {
    let contact = (
        proptest::option::weighted(0.8, 0u8..6),
        0u8..90,
        0usize..3,
        1u32..4,
    );
    prop_oneof![
        4 => (0usize..2, 0usize..4, proptest::collection::vec(contact, 1..5))
            .prop_map(|(worker, site, contacts)| Op::Save { worker, site, contacts }),
        2 => (0usize..2, 0usize..6, proptest::option::of(0usize..4))
            .prop_map(|(worker, pick, contact)| Op::Void { worker, pick, contact }),
        1 => (0usize..2, 2usize..4).prop_map(|(worker, site)| Op::AddSite { worker, site }),
        1 => (0usize..2, 0usize..4).prop_map(|(worker, site)| Op::Retire { worker, site }),
        3 => (0usize..2).prop_map(|worker| Op::Send { worker }),
        1 => Just(Op::Down),
    ]
}

/// Two stores of one program: the coordinator's and a laptop's, enrolled from it.
struct Program {
    key: ProgramKey,
    coordinator: Store,
    workers: Vec<Store>,
    /// The one-laptop program: the same records, saved in one place.
    single: Store,
}

fn today() -> NaiveDate {
    day("2026-09-01")
}

fn create(path: &Path, key: &ProgramKey) -> Store {
    let settings = Settings {
        calendar: FiscalCalendar::new(4).unwrap(),
        min_cell: 5,
        code_format: None,
        key_check: key.key_check().to_vec(),
    };
    Store::create(
        path,
        &NewProgram {
            settings: &settings,
            today: day("2026-04-01"),
        },
        &key.database_key(),
    )
    .unwrap()
}

fn program(dir: &Path) -> Program {
    let key = ProgramKey::generate(&SystemRandom::new()).unwrap();
    let mut coordinator = create(&dir.join("coordinator.db"), &key);
    let mut single = create(&dir.join("single.db"), &key);
    for site in &SITES[..2] {
        coordinator.add_site(site).unwrap();
        single.add_site(site).unwrap();
    }
    let (signing, public) = new_signing_key().unwrap();
    coordinator
        .become_coordinator(&random_id().unwrap(), &signing, &public, today())
        .unwrap();
    let mut workers = Vec::new();
    for label in ["van-1", "van-2"] {
        let id = random_id().unwrap();
        let (signing, public) = new_signing_key().unwrap();
        let image = coordinator
            .enrolment_image(&id, label, (&signing, &public), today())
            .unwrap();
        coordinator
            .add_device(&id, label, &public, today())
            .unwrap();
        let mut worker = create(&dir.join(format!("{label}.db")), &key);
        worker.adopt_enrolment(&image).unwrap();
        workers.push(worker);
    }
    Program {
        key,
        coordinator,
        workers,
        single,
    }
}

fn site_id(store: &Store, name: &str) -> Option<i64> {
    store.catalogue().unwrap().site(name).map(|s| s.id)
}

fn item_id(store: &Store, name: &str) -> i64 {
    store.catalogue().unwrap().item(name).unwrap().id
}

fn save(store: &mut Store, site: &str, contacts: &[(Option<u8>, u8, usize, u32)]) -> i64 {
    let site_id = site_id(store, site).unwrap();
    let calendar = FiscalCalendar::new(4).unwrap();
    let drafts: Vec<Contact> = contacts
        .iter()
        .map(|(code, offset, item, quantity)| {
            let when = day("2026-04-01") + chrono::Days::new(u64::from(*offset));
            Contact {
                day: when,
                fiscal_year: calendar.year_of(when),
                site_id,
                code: code.map(|c| ParticipantCode::from_bytes([c + 1; 16])),
                counts: Counts {
                    items: vec![(item_id(store, ITEMS[*item]), *quantity)],
                    ..Counts::default()
                },
            }
        })
        .collect();
    let header = BatchHeader {
        source: BatchSource::Shift,
        worker: None,
        saved_on: today(),
    };
    store
        .save_batch_with(&header, |writer| {
            for draft in &drafts {
                writer.add(draft)?;
            }
            Ok(())
        })
        .unwrap()
        .0
}

/// A bundle as it travels: the sender's label, its number, its image.
type Bundle = (String, u64, Vec<u8>);

/// Merges `bundle` into `store` (the digest stands in for the sealed file's).
fn merge(store: &mut Store, (label, seq, image): &Bundle) {
    let from = sender(store, label);
    let digest: [u8; 32] = ring::digest::digest(&ring::digest::SHA256, image)
        .as_ref()
        .try_into()
        .unwrap();
    store
        .merge_bundle(&from, (*seq, &digest), image, today())
        .unwrap();
}

fn sender(store: &Store, label: &str) -> Device {
    store
        .devices()
        .unwrap()
        .into_iter()
        .find(|d| d.label == label)
        .unwrap()
}

/// The program a store holds, with no local row number in it: batches by uid,
/// contacts by (uid, position), sites and items by name, voids by uid.
fn fingerprint(path: &Path, key: &ProgramKey) -> Vec<String> {
    let conn = connect(path, Some(key.database_key().pragma_value()));
    let mut out = Vec::new();
    for sql in [
        "SELECT 'batch ' || hex(o.uid) || ' ' || b.saved_on || ' ' || b.source || ' '
                || coalesce(b.voided_reason, '-') || ' ' || coalesce(b.voided_on, '-')
           FROM batch b JOIN batch_origin o ON o.batch_id = b.id",
        "SELECT 'contact ' || hex(o.uid) || ' ' || c.position || ' ' || c.day || ' ' || s.name
                || ' ' || coalesce(hex(c.code), '-') || ' ' || coalesce(c.voided_reason, '-')
                || ' ' || (SELECT group_concat(i.name || '=' || ci.quantity) FROM contact_item ci
                            JOIN item i ON i.id = ci.item_id WHERE ci.contact_id = c.id)
           FROM contact c JOIN batch_origin o ON o.batch_id = c.batch_id
           JOIN site s ON s.id = c.site_id",
        "SELECT 'void ' || hex(uid) || ' ' || hex(batch_uid) || ' ' || coalesce(position, '-')
                || ' ' || reason FROM void_event",
        "SELECT 'site ' || name || ' ' || coalesce(retired_on, '-') FROM site",
        "SELECT 'item ' || name || ' ' || category || ' ' || coalesce(retired_on, '-') FROM item",
    ] {
        let mut statement = conn.prepare(sql).unwrap();
        let rows = statement
            .query_map([], |row| row.get::<_, String>(0))
            .unwrap();
        out.extend(rows.map(Result::unwrap));
    }
    out.sort();
    out
}

fn report(store: &mut Store) -> Vec<u8> {
    let request = Request {
        kind: PeriodKind::Month,
        from: None,
        to: None,
        dimensions: Dimensions {
            site: true,
            item: ItemLevel::Item,
        },
        min_cell: Some(1),
        recipient: None,
        today: today(),
    };
    let prepared = prepare(store, &request).unwrap();
    render(&prepared, &request, None).unwrap()
}

/// Runs `ops`; returns every bundle made as (sender label, image), in order.
fn run(program: &mut Program, ops: &[Op]) -> Vec<Bundle> {
    let labels = ["van-1", "van-2"];
    let mut bundles: Vec<Bundle> = Vec::new();
    let mut merged = 0;
    // Per worker: its batches as (id there, id in the single program).
    let mut saved: [Vec<(i64, i64)>; 2] = [Vec::new(), Vec::new()];
    for op in ops {
        match op {
            Op::Save {
                worker,
                site,
                contacts,
            } => {
                let store = &mut program.workers[*worker];
                let name = if site_id(store, SITES[*site]).is_some() {
                    SITES[*site]
                } else {
                    SITES[*site % 2]
                };
                let here = save(store, name, contacts);
                if site_id(&program.single, name).is_none() {
                    program.single.add_site(name).unwrap();
                }
                let there = save(&mut program.single, name, contacts);
                saved[*worker].push((here, there));
            }
            Op::Void {
                worker,
                pick,
                contact,
            } => {
                if let Some(&ids) = saved[*worker].get(*pick) {
                    void(program, *worker, ids, *contact);
                }
            }
            Op::AddSite { worker, site } => {
                let store = &mut program.workers[*worker];
                if site_id(store, SITES[*site]).is_none() {
                    store.add_site(SITES[*site]).unwrap();
                }
            }
            Op::Retire { worker, site } => {
                let store = &mut program.workers[*worker];
                if site_id(store, SITES[*site]).is_some() {
                    let _ = store.retire_site(SITES[*site], today());
                }
            }
            Op::Send { worker } => {
                let outgoing = program.workers[*worker]
                    .next_bundle(&program.key, today())
                    .unwrap();
                bundles.push((
                    labels[*worker].to_owned(),
                    outgoing.seq,
                    outgoing.image.to_vec(),
                ));
            }
            Op::Down => {
                for bundle in &bundles[merged..] {
                    merge(&mut program.coordinator, bundle);
                }
                merged = bundles.len();
                let down = program
                    .coordinator
                    .next_bundle(&program.key, today())
                    .unwrap();
                let down = ("coordinator".to_owned(), down.seq, down.image.to_vec());
                for worker in &mut program.workers {
                    merge(worker, &down);
                }
            }
        }
    }
    finish(program, &mut bundles, merged);
    bundles
}

/// Voids a worker's batch (`contact`: one contact of it) there, and the same in the
/// single program when the worker's laptop took it (a contact of a batch already at
/// the coordinator cannot be voided on the laptop).
fn void(program: &mut Program, worker: usize, (here, there): (i64, i64), contact: Option<usize>) {
    let store = &mut program.workers[worker];
    let done = match contact {
        None => store
            .void_batch(here, VoidReason::EntryError, today())
            .map(|_| ()),
        Some(n) => store.void_contact(here, n as i64 + 1, VoidReason::Test, today()),
    };
    if done.is_ok() {
        match contact {
            None => program
                .single
                .void_batch(there, VoidReason::EntryError, today())
                .map(|_| ())
                .unwrap(),
            Some(n) => program
                .single
                .void_contact(there, n as i64 + 1, VoidReason::Test, today())
                .unwrap(),
        }
    }
}

/// Every worker sends what it still holds, the coordinator merges what it has not,
/// and the sites the workers added and retired reach the single program as they
/// reach the coordinator: by name, with the earliest retirement.
fn finish(program: &mut Program, bundles: &mut Vec<Bundle>, merged: usize) {
    for (worker, label) in ["van-1", "van-2"].iter().enumerate() {
        let outgoing = program.workers[worker]
            .next_bundle(&program.key, today())
            .unwrap();
        bundles.push(((*label).to_owned(), outgoing.seq, outgoing.image.to_vec()));
    }
    for bundle in &bundles[merged..] {
        merge(&mut program.coordinator, bundle);
    }
    for site in SITES {
        if site_id(&program.coordinator, site).is_some() && site_id(&program.single, site).is_none()
        {
            program.single.add_site(site).unwrap();
        }
        let retired = program
            .coordinator
            .catalogue()
            .unwrap()
            .site(site)
            .and_then(|s| s.retired_on);
        if retired.is_some() {
            let _ = program.single.retire_site(site, today());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        max_shrink_iters: 200,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_order_of_every_bundle_gives_one_program_and_the_one_laptop_report(
        ops in proptest::collection::vec(op(), 1..40),
        order in proptest::collection::vec(any::<prop::sample::Index>(), 0..80),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut program = program(dir.path());
        // The second coordinator starts as the first one is now: enrolled, nothing merged.
        std::fs::copy(dir.path().join("coordinator.db"), dir.path().join("second.db")).unwrap();
        let bundles = run(&mut program, &ops);

        let mut second = Store::open(&dir.path().join("second.db"), &program.key.database_key()).unwrap();
        // Random picks (duplicates and any order), then every bundle once more in reverse.
        let picks = order.iter().map(|index| index.index(bundles.len()));
        for pick in picks.chain((0..bundles.len()).rev()) {
            merge(&mut second, &bundles[pick]);
        }
        prop_assert_eq!(
            fingerprint(&dir.path().join("coordinator.db"), &program.key),
            fingerprint(&dir.path().join("second.db"), &program.key)
        );
        let coordinator_report = report(&mut program.coordinator);
        let single_report = report(&mut program.single);
        prop_assert_eq!(
            String::from_utf8(coordinator_report).unwrap(),
            String::from_utf8(single_report).unwrap()
        );
        prop_assert_eq!(
            String::from_utf8(report(&mut second)).unwrap(),
            String::from_utf8(report(&mut program.single)).unwrap()
        );
    }
}

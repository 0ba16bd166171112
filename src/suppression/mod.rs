//! Which report cells to hide, so that no small group can be worked out from
//! everything the program has released.
//!
//! The rule: a cell that summarises fewer than `min_cell` contacts or participants is
//! never published, and for each of its counts a reader holding every release (every
//! period kind, every breakdown), with every fact the format gives away (counts are
//! whole and not negative, a printed row has a contact, sites, items and periods add
//! up, participants are at most the coded contacts, ...), is left with at least
//! `min_cell` possible values, or knows only that it is zero because a published total
//! of zero says so.
//!
//! - `model`: the reader's facts as constraints over a fiscal year's cubes.
//! - `witness`: other tables as consistent with the releases as the true one, found
//!   by moving hidden counts; they are what proves a count uncertain.
//! - `lp`: witnesses by linear programming around one cell, where the shapes fall
//!   short, and the cheapest counts to hide for one.
//! - `decide`: primary and complementary suppression driven by the witnesses.
//! - [`rank`]: the exact rank auditor of linear equations, kept as a fast first check
//!   for tests.
//!
//! Pure arithmetic on counts: no I/O, no SQL, no codes.

mod bounds;
mod decide;
mod lp;
mod model;
pub mod rank;
mod witness;

pub use decide::{Decision, decide};
pub use model::{Cube, Key, Row, Shape, Universe};
pub use rank::{CellCounts, Hidden, Relation, find_disclosed, is_too_small, suppress};

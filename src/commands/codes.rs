//! `kitlog codes new [COUNT]`: random participant codes to print on cards.
//!
//! Needs no program and no passphrase: the codes are random, and kitlog keeps no
//! list of them (a list would be a register of everyone who got a card). A program
//! made with `--code-format issued` accepts only codes whose check character fits.

use std::io::Write;

use ring::rand::SystemRandom;

use super::output;
use crate::cli::CodesCommand;
use crate::error::Result;
use crate::issued::new_codes;

/// Prints the codes, one a line.
pub(super) fn run(command: &CodesCommand, out: &mut impl Write) -> Result<()> {
    let CodesCommand::New { count } = command;
    for code in new_codes(usize::from(*count), &SystemRandom::new())? {
        output(writeln!(out, "{code}"))?;
    }
    Ok(())
}

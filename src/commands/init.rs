//! `kitlog init`: a new program with a fresh random key, sealed under a passphrase.

use std::io::Write;

use ring::rand::SystemRandom;

use super::{Context, output};
use crate::cli::InitArgs;
use crate::code::CodeFormat;
use crate::error::{Error, Result};
use crate::fiscal::FiscalCalendar;
use crate::keys::ProgramKey;
use crate::store::{NewProgram, Settings};
use crate::unlock::create_program;

/// The first slot's label; later slots are named when they are added.
const FIRST_SLOT_LABEL: &str = "initial";

/// Checks the settings, asks for the passphrase, then writes the program in one go.
pub(super) fn run(args: &InitArgs, context: &Context, out: &mut impl Write) -> Result<()> {
    let calendar =
        FiscalCalendar::new(args.fiscal_year_start).ok_or(Error::InvalidFiscalYearStart)?;
    if args.min_cell == 0 {
        return Err(Error::MinCellZero);
    }
    let code_format = match &args.code_format {
        Some(mask) => Some(CodeFormat::parse(mask).ok_or(Error::InvalidCodeFormat)?),
        None => None,
    };
    if context.db.exists() {
        return Err(Error::ProgramExists(context.db.clone()));
    }
    let key_file = crate::keyfile::key_file_path(&context.db);
    if key_file.exists() {
        return Err(Error::ProgramExists(key_file));
    }

    let passphrase = context.passphrase.read_new()?;
    let random = SystemRandom::new();
    let key = ProgramKey::generate(&random)?;
    let slot = key.seal(
        FIRST_SLOT_LABEL,
        &context.today.to_string(),
        &passphrase,
        &random,
    )?;
    drop(passphrase);
    let settings = Settings {
        calendar,
        min_cell: args.min_cell,
        code_format,
        key_check: key.key_check().to_vec(),
    };
    create_program(
        &context.db,
        &NewProgram {
            settings: &settings,
            today: context.today,
        },
        &key,
        &slot,
    )?;

    let year = calendar.year_of(context.today);
    output(writeln!(
        out,
        "created a kitlog program at {}\n\
         \x20 fiscal years start in month {} ({year} runs {} to {}); reports hide counts below {}\n\
         \x20 8 items are in the catalogue (kitlog item list); add sites with: kitlog site add NAME\n\
         keep the passphrase safe: nobody can recover it, and without it no codes can be made",
        context.db.display(),
        calendar.start_month(),
        year.first_day(),
        year.last_day(),
        settings.min_cell,
    ))?;
    if settings
        .code_format
        .as_ref()
        .is_some_and(|format| !format.is_issued())
    {
        output(writeln!(
            out,
            "note: a code built from personal details has few possible inputs: anyone holding a passphrase\n\
             \x20 can try them all and link every stored code back to its person in under a minute;\n\
             \x20 random codes on cards cannot be reversed (kitlog init --code-format issued, kitlog codes new)"
        ))?;
    }
    Ok(())
}

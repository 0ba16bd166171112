//! Where the passphrase comes from: a prompt without echo on a terminal, else the
//! file named by `KITLOG_PASSPHRASE_FILE`, else `KITLOG_PASSPHRASE` (scripts, tests).
//! A replacement passphrase (`kitlog passphrase add|change`) is typed twice on a
//! terminal, else read from `KITLOG_NEW_PASSPHRASE`.
//!
//! The text is wrapped in [`Passphrase`] the moment it is read, so every copy is
//! wiped on drop. Every command that opens a program asks: its file is encrypted.

use std::io::IsTerminal;
use std::path::PathBuf;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::keys::Passphrase;

/// The passphrase sources available to this process, read once in `cli::run`.
#[derive(Debug, Clone, Default)]
pub struct PassphraseSource {
    /// Standard input is a terminal: prompt there.
    pub terminal: bool,
    /// `KITLOG_PASSPHRASE_FILE`.
    pub file: Option<PathBuf>,
    /// `KITLOG_PASSPHRASE`; wiped when the source is dropped.
    pub value: Option<Zeroizing<String>>,
    /// `KITLOG_NEW_PASSPHRASE`, for `kitlog passphrase add|change` off a terminal.
    pub new_value: Option<Zeroizing<String>>,
}

impl PassphraseSource {
    /// Reads the environment of this process.
    #[must_use]
    pub fn from_environment() -> Self {
        PassphraseSource {
            terminal: std::io::stdin().is_terminal(),
            file: std::env::var_os("KITLOG_PASSPHRASE_FILE").map(PathBuf::from),
            value: std::env::var("KITLOG_PASSPHRASE").ok().map(Zeroizing::new),
            new_value: std::env::var("KITLOG_NEW_PASSPHRASE")
                .ok()
                .map(Zeroizing::new),
        }
    }

    /// The passphrase that opens an existing program.
    pub fn read(&self) -> Result<Passphrase> {
        if self.terminal {
            return prompt("Passphrase: ");
        }
        self.read_unattended()
    }

    /// The one-time passphrase of an enrolment file (`kitlog device join`): prompted
    /// as such on a terminal, else read like any passphrase.
    pub fn read_one_time(&self) -> Result<Passphrase> {
        if self.terminal {
            return prompt("One-time passphrase from the coordinator: ");
        }
        self.read_unattended()
    }

    /// A new passphrase: on a terminal typed twice and compared, and never too short.
    pub fn read_new(&self) -> Result<Passphrase> {
        let passphrase = if self.terminal {
            prompt_twice()?
        } else {
            self.read_unattended()?
        };
        passphrase.check_strength()?;
        Ok(passphrase)
    }

    /// A second passphrase besides the one that opens the program (`kitlog passphrase
    /// add|change`): on a terminal typed twice, else `KITLOG_NEW_PASSPHRASE`.
    pub fn read_replacement(&self) -> Result<Passphrase> {
        let passphrase = if self.terminal {
            prompt_twice()?
        } else {
            match &self.new_value {
                Some(value) => Passphrase::new(value.to_string()),
                None => return Err(Error::NoNewPassphrase),
            }
        };
        passphrase.check_strength()?;
        Ok(passphrase)
    }

    fn read_unattended(&self) -> Result<Passphrase> {
        if let Some(path) = &self.file {
            warn_if_others_can_read(path);
            let text = Zeroizing::new(
                std::fs::read_to_string(path).map_err(|e| Error::file("read", path, &e))?,
            );
            // Editors add a final newline; it is not part of the passphrase.
            let trimmed = text.strip_suffix('\n').unwrap_or(&text);
            let trimmed = trimmed.strip_suffix('\r').unwrap_or(trimmed);
            return Ok(Passphrase::new(trimmed.to_owned()));
        }
        match &self.value {
            Some(value) => Ok(Passphrase::new(value.to_string())),
            None => Err(Error::NoPassphrase),
        }
    }
}

/// A passphrase file other accounts can read gives the program away on a shared
/// machine: say so (it is still used; refusing would stop a script mid-shift).
fn warn_if_others_can_read(path: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(metadata) = std::fs::metadata(path) {
            if metadata.permissions().mode() & 0o077 != 0 {
                eprintln!(
                    "warning: {} can be read by other accounts on this machine; make it yours alone: chmod 600 {}",
                    path.display(),
                    path.display()
                );
            }
        }
    }
}

fn prompt_twice() -> Result<Passphrase> {
    let first = prompt("New passphrase (four or more random words): ")?;
    first.check_strength()?;
    let second = prompt("Type it again: ")?;
    if !first.matches(&second) {
        return Err(Error::PassphraseMismatch);
    }
    Ok(first)
}

fn prompt(text: &str) -> Result<Passphrase> {
    let typed = rpassword::prompt_password(text).map_err(|_| Error::NoPassphrase)?;
    Ok(Passphrase::new(typed))
}

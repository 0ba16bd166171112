//! The process itself, made a poor source of secrets before any is read.
//!
//! A core file of `kitlog shift` held the program key, the passphrase and a raw code
//! (the forensic review, finding 4), and a dumpable process lets any program of the
//! same user read its memory through `/proc`. So the first thing `cli::run` does is
//! turn core dumps off (a hard limit of zero, which the process cannot raise again)
//! and mark the process not dumpable, which also closes `/proc/PID/mem` to others.
//!
//! Both are best effort on systems without them; on Linux a failure is reported,
//! because a kitlog that silently keeps dumping would be worse than one that stops.

use crate::error::{Error, Result};

/// No core file, and no reading of this process's memory by others of the same user.
pub fn harden_process() -> Result<()> {
    #[cfg(target_os = "linux")]
    {
        use nix::sys::resource::{Resource, setrlimit};
        setrlimit(Resource::RLIMIT_CORE, 0, 0).map_err(|_| Error::Hardening)?;
        nix::sys::prctl::set_dumpable(false).map_err(|_| Error::Hardening)?;
    }
    Ok(())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn after_hardening_no_core_file_can_be_written_and_the_process_is_not_dumpable() {
        super::harden_process().unwrap();
        let (soft, hard) =
            nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_CORE).unwrap();
        assert_eq!((soft, hard), (0, 0));
        assert!(!nix::sys::prctl::get_dumpable().unwrap());
    }
}

//! The `kitlog` binary: everything happens in the library's `cli::run`.

use std::process::ExitCode;

fn main() -> ExitCode {
    kitlog::cli::run(std::env::args_os())
}

//! `kitlog privacy`: the stored fields and exported columns, with no program and no
//! passphrase. (That every column has a meaning is a unit test beside the list.)

use crate::harness::Kitlog;

#[test]
fn privacy_lists_every_table_without_a_program_or_passphrase() {
    let kit = Kitlog::new();
    let output = kit
        .command()
        .env_remove("KITLOG_PASSPHRASE")
        .arg("privacy")
        .assert()
        .success()
        .stderr("")
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(output).unwrap();
    assert!(text.starts_with(
        "kitlog stores these fields in a program, and nothing else (schema 6):\n\n\
         program: the program's settings; one row\n\
         \x20 id                    INTEGER  always 1\n"
    ));
    for line in [
        "\ncontact: one interaction\n",
        "\n  code                  BLOB     salted participant code (16 bytes of an HMAC), or empty for anonymous\n",
        "\nthe whole file is encrypted (SQLCipher): without a passphrase it shows nothing but its size\n",
        "\n  naloxone_confiscated  naloxone kits replacing one confiscated (by police, say)\n",
        "\nbatch_origin: each batch's identity across the program's laptops\n",
        "\ndecided_period: each period a release was decided for, counted once and frozen\n",
        "\n  hidden                INTEGER  which of the numbers every release shows as x\n",
        "\n  content               BLOB     the report, form or summary page exactly as released (aggregate numbers only)\n",
    ] {
        assert!(text.contains(line), "missing: {line}");
    }
    assert!(!text.contains("(undocumented)"));
    assert!(kit.files().is_empty(), "privacy created a file");
}

/// Shell completions and the man page come from the command-line definitions and
/// need no program: every subcommand is in them.
#[test]
fn completions_and_the_man_page_cover_every_command() {
    let kit = Kitlog::new();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let script = kit.stdout(&["completions", shell]);
        for command in [
            "init", "import", "shift", "report", "releases", "worker", "codes",
        ] {
            assert!(script.contains(command), "{shell} lacks {command}");
        }
    }
    let page = kit.stdout(&["man"]);
    assert!(page.starts_with(".ie"), "roff");
    assert!(page.contains(".TH kitlog 1"));
    assert!(page.contains("close\\-year"));
    kit.run(&["completions", "nosh"]).failure().code(2);
    assert!(kit.files().is_empty());
}

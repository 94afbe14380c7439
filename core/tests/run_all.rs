//! tests/run-all.sh checks every prerequisite before running anything, and lists all that
//! are missing in one message with the command that installs them. A machine without them
//! is simulated with stand-ins on PATH (`dpkg-query` answering "not installed", `rustup`
//! knowing no extra target, `id` saying "not root"), so nothing is uninstalled for real.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A folder of stand-in commands, first on PATH.
fn stand_ins(name: &str, scripts: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("run-all-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (command, body) in scripts {
        let path = dir.join(command);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("stand-in");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
    }
    dir
}

fn run_all(stand_ins: &Path, args: &[&str]) -> Output {
    let path = format!(
        "{}:{}",
        stand_ins.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("bash")
        .arg(repo().join("tests/run-all.sh"))
        .args(args)
        .env("PATH", path)
        .output()
        .expect("bash runs")
}

const NOTHING_INSTALLED: &[(&str, &str)] = &[
    ("dpkg-query", "echo 'unknown ok not-installed'"),
    (
        "rustup",
        "[ \"$1 $2 $3\" = 'target list --installed' ] && { echo x86_64-unknown-linux-gnu; exit 0; }\n\
         echo \"rustup $*: not expected here\" >&2; exit 3",
    ),
    ("apt-get", "echo \"apt-get $*: not expected here\" >&2; exit 3"),
    ("sudo", "echo \"sudo $*: not expected here\" >&2; exit 3"),
];

#[test]
fn a_user_without_the_prerequisites_gets_one_message_and_the_command() {
    let mut scripts = NOTHING_INSTALLED.to_vec();
    scripts.push((
        "id",
        "[ \"$1\" = -u ] && { echo 1000; exit 0; }; exec /usr/bin/id \"$@\"",
    ));
    let dir = stand_ins("user", &scripts);
    let out = run_all(&dir, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for needed in [
        "clang",
        "libclang-rt-14-dev",
        "valgrind",
        "cmake",
        "pkgconf",
        "mono-mcs",
        "mono-runtime",
        "chromium-driver",
        "postgresql",
        "wasm32-unknown-unknown",
    ] {
        assert!(stderr.contains(needed), "{needed} is listed: {stderr}");
    }
    assert_eq!(
        stderr.matches("missing prerequisites").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("tests/run-all.sh --install"), "{stderr}");
    assert!(
        !stderr.contains("not expected here"),
        "nothing installed: {stderr}"
    );
    assert!(!stderr.contains("== "), "no suite ran: {stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn check_only_lists_and_installs_nothing_even_as_root() {
    let mut scripts = NOTHING_INSTALLED.to_vec();
    scripts.push((
        "id",
        "[ \"$1\" = -u ] && { echo 0; exit 0; }; exec /usr/bin/id \"$@\"",
    ));
    let dir = stand_ins("check", &scripts);
    let out = run_all(&dir, &["--check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("mono-mcs") && stderr.contains("wasm32-unknown-unknown"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("not expected here"),
        "nothing installed: {stderr}"
    );
    assert!(!stderr.contains("== "), "no suite ran: {stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_windows_and_arm64_prerequisites_join_once_platforms_sh_exists() {
    // Read from the script itself: a scratch copy of the repository would be a full clone.
    let script = std::fs::read_to_string(repo().join("tests/run-all.sh")).expect("script");
    let block = &script[script
        .find("if [ -f tests/platforms.sh ]; then")
        .expect("the check")..];
    let block = &block[..block.find("fi\n").expect("closes")];
    for needed in [
        "mingw-w64",
        "wine64",
        "gcc-aarch64-linux-gnu",
        "qemu-user",
        "x86_64-pc-windows-gnu",
        "aarch64-unknown-linux-gnu",
    ] {
        assert!(block.contains(needed), "{needed}: {block}");
    }
    assert!(
        script.contains("suite \"Windows and arm64: tests/platforms.sh\" bash tests/platforms.sh")
    );
}

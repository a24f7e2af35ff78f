//! Runs of the real `caplab` binary: one waited for, one in the background, and one
//! interrupted by SIGINT once it records. What a run must leave behind is for each test to
//! check; this module only starts, waits and signals.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Writes `toml` as `<dir>/<name>.toml`, runs `caplab run` on it with `--out <dir>`, asserts
/// it exited 0 (printing its output if not) and returns the run directory.
pub fn run_experiment(dir: &Path, name: &str, toml: &str) -> PathBuf {
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, toml).unwrap();
    let out = Command::new(assert_cmd::cargo::cargo_bin("caplab"))
        .arg("run")
        .arg(&file)
        .arg("--out")
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.code() == Some(0),
        "caplab run {} failed: {}\n{}",
        file.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    dir.join(name).join("latest")
}

/// `caplab run FILE --out OUT` in the background, its output discarded.
pub fn spawn_run(file: &Path, out: &Path) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("caplab"))
        .arg("run")
        .arg(file)
        .arg("--out")
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits until `path` has at least `n` lines (asserting it does within `within`).
pub fn wait_for_lines(path: &Path, n: usize, within: Duration) {
    let deadline = Instant::now() + within;
    while std::fs::read_to_string(path)
        .map(|s| s.lines().count())
        .unwrap_or(0)
        < n
    {
        assert!(Instant::now() < deadline, "{} stays short", path.display());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits for `child` to exit (asserting it does within `within`).
pub fn wait_exit(child: &mut Child, within: Duration) -> ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(Instant::now() < deadline, "caplab did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends `signal` (`-INT`, `-TERM`, `-KILL`) to `child` with `kill`.
pub fn signal(child: &Child, signal: &str) {
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args([signal, &pid])
        .status()
        .unwrap()
        .success());
}

/// Starts `caplab run FILE --out OUT`, waits (up to `start_within`) until `history` holds at
/// least 20 operations, sends SIGINT (Ctrl-C), and returns the exit status once it stopped
/// (asserting it did so within `stop_within`).
pub fn run_and_interrupt(
    file: &Path,
    out: &Path,
    history: &Path,
    start_within: Duration,
    stop_within: Duration,
) -> ExitStatus {
    let mut child = spawn_run(file, out);
    wait_for_lines(history, 20, start_within);
    signal(&child, "-INT");
    wait_exit(&mut child, stop_within)
}

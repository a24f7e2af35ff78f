//! The HTML report in a real browser: headless Chromium opens `report.html` from disk (no
//! network), the page's own check reports every chart image decoded, and a screenshot
//! shows the charts' colours on screen.
//!
//! Needs Chromium (`apt-get install chromium`, or `CAPLAB_CHROMIUM=/path/to/chrome`).
//! Without it the test says so and passes, unless `CAPLAB_REQUIRE_BROWSER=1` (set by CI,
//! which installs Chromium) makes a missing browser a failure. The screenshot is kept at
//! `target/tmp/report-screenshot.png` for a human to look at.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use caplab::analysis::{analyse_run, CheckOptions};
use caplab::report::{self, Chart};

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CAPLAB_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| {
            ["chromium", "chromium-browser", "google-chrome"]
                .into_iter()
                .map(move |n| d.join(n))
        })
        .find(|p| p.is_file())
}

/// Chromium with the flags that keep it off the network and out of the user's profile.
fn headless(chrome: &Path, profile: &Path) -> Command {
    let mut c = Command::new(chrome);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

#[test]
fn the_report_opens_in_a_browser_with_every_chart_showing() {
    let Some(chrome) = chromium() else {
        assert!(
            std::env::var_os("CAPLAB_REQUIRE_BROWSER").is_none(),
            "CAPLAB_REQUIRE_BROWSER is set but no chromium was found (apt-get install chromium)"
        );
        eprintln!("SKIPPED: no chromium on PATH; install it (apt-get install chromium) to run");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let run_dir = tmp.path().join("run");
    std::fs::create_dir_all(&run_dir).unwrap();
    support::tiny_run::write_run(&run_dir);
    let run = analyse_run(&run_dir, &CheckOptions::default()).unwrap();
    report::report_run(&run_dir, &run).unwrap();
    let url = format!("file://{}", run_dir.join("report.html").display());

    // The page counts the chart images that decoded and shows the count.
    let dom = headless(&chrome, &tmp.path().join("profile-1"))
        .args(["--virtual-time-budget=10000", "--dump-dom"])
        .arg(&url)
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    let want = format!("{n} of {n} charts shown", n = Chart::ALL.len());
    assert!(
        dom.contains(&want),
        "the browser did not show every chart:\n{dom}"
    );

    // A real screenshot, tall enough for every chart: the variants' colours are on it.
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-screenshot.png");
    let _ = std::fs::remove_file(&shot);
    let status = headless(&chrome, &tmp.path().join("profile-2"))
        .args(["--virtual-time-budget=10000", "--window-size=1400,9000"])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .status()
        .unwrap();
    assert!(status.success(), "chromium --screenshot failed: {status}");
    let bytes = std::fs::read(&shot).unwrap();
    let mut reader = png::Decoder::new(std::io::Cursor::new(&bytes))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let near = |p: &[u8], c: (u8, u8, u8)| {
        p[0].abs_diff(c.0) < 12 && p[1].abs_diff(c.1) < 12 && p[2].abs_diff(c.2) < 12
    };
    let (mut first, mut second) = (0, 0);
    for p in buf[..info.buffer_size()].chunks(channels) {
        first += usize::from(near(p, (31, 119, 180)));
        second += usize::from(near(p, (255, 127, 14)));
    }
    assert!(
        first > 5_000 && second > 5_000,
        "the screenshot {} shows too little of the charts: {first} blue and {second} orange pixels",
        shot.display()
    );
}

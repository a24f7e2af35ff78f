//! Charts and reports from a small fixed run directory: the series each chart draws, the
//! files (valid PNG of the expected size, SVG with the legends), the Markdown report
//! against a checked-in snapshot, the HTML report's self-containment, and the CLI
//! commands `plot`, `report` and `compare`.
//!
//! Regenerate the snapshot with `UPDATE_SNAPSHOTS=1 cargo test --test report`.

mod support;

use std::path::Path;

use assert_cmd::Command;
use caplab::analysis::{analyse_run, CheckOptions, RunAnalysis};
use caplab::history::OpKind;
use caplab::report::{self, charts, data, Chart};
use predicates::prelude::*;

fn analysed(dir: &Path) -> RunAnalysis {
    support::tiny_run::write_run(dir);
    analyse_run(dir, &CheckOptions::default()).unwrap()
}

fn variant<'a>(run: &'a RunAnalysis, name: &str) -> &'a caplab::analysis::VariantAnalysis {
    &run.variants.iter().find(|(n, _)| n == name).unwrap().1
}

#[test]
fn chart_series_are_the_numbers_of_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let run = analysed(tmp.path());
    let strong = variant(&run, "strong");
    let eventual = variant(&run, "eventual");

    // Availability per second: the asia half of the operations fails while asia is cut
    // off (from 1.5 s to 3 s); the eventual variant answers everything.
    let a = data::availability(strong);
    assert_eq!(a, vec![(0.5, 1.0), (1.5, 0.7), (2.5, 0.6), (3.5, 1.0)]);
    assert!(data::availability(eventual).iter().all(|p| p.1 == 1.0));

    // Stale reads: never for strong; for eventual only the asia friend reads in and just
    // after the fault (a quarter of all operations are those reads).
    assert!(data::staleness(strong).iter().all(|p| p.1 == 0.0));
    let st = data::staleness(eventual);
    assert_eq!(st[0].1, 0.0);
    assert!(st[2].1 > 0.0, "{st:?}");

    // Scatter: one point per operation, split by outcome.
    let s = data::scatter(strong);
    assert_eq!(
        (s[0].len(), s[1].len(), s[2].len()),
        (support::tiny_run::OPS as usize - 7, 4, 3)
    );
    assert!(s[0].iter().all(|&(t, _)| (0.0..4.0).contains(&t)));

    // Percentiles: strong writes all take 80 ms (bob) or 200 ms (alice, outside the fault).
    let w = data::percentile_curve(strong, OpKind::Write);
    assert_eq!(w.first().unwrap(), &(0.0, 80.0));
    assert_eq!(w.last().unwrap().1, 200.0);

    // Convergence CDF: ends at 1 (every write reached every replica), starts at the floor.
    let cdf = data::cdf(&eventual.points.convergence_lag_us, 0.1);
    assert_eq!(cdf.first().unwrap(), &(0.1, 0.0));
    assert_eq!(cdf.last().unwrap().1, 1.0);

    // Cost: node-to-node messages per operation from net.json.
    let input = report::run_input(&run);
    let bars = charts::cost::bars(&input, false);
    assert_eq!(bars[0].1, 240.0 / support::tiny_run::OPS as f64);
    assert_eq!(bars[1].1, 120.0 / support::tiny_run::OPS as f64);

    // Fault bands: the one partition, in window seconds, shared by both variants.
    let bands = input.bands();
    assert_eq!(bands.len(), 1);
    assert_eq!((bands[0].start_s, bands[0].end_s), (1.5, Some(3.0)));
    assert_eq!(input.dcs(), vec!["asia".to_string(), "eu".to_string()]);
}

/// The numbers the report words are the analysis's (kept in the summary): the home-DC
/// split, each device during the partition, the worst DC, and the visibility facts.
#[test]
fn the_analysis_measures_what_the_report_words() {
    let tmp = tempfile::tempdir().unwrap();
    let run = analysed(tmp.path());
    let strong = &variant(&run, "strong").summary;
    let eventual = &variant(&run, "eventual").summary;

    // Strong writes take 80 ms (bob) or 200 ms (alice), all at home.
    let home = strong.home_latency_us.unwrap();
    let w = home.get(OpKind::Write, true).unwrap();
    assert_eq!((w.p50, w.p99), (80_000, 200_000));
    assert_eq!(home.get(OpKind::Write, false), None);
    let r = home.get(OpKind::Read, true).unwrap();
    assert_eq!((r.p50, r.p99), (40_000, 40_000));

    // During the partition: the asia friend's reads all fail for strong, none for eventual.
    let f = &strong.fault_devices[0];
    let (phone, friend) = (&f.by_device["phone"], &f.by_device["friend"]);
    assert_eq!((phone.ops, phone.ok), (8, 4));
    assert_eq!((friend.ops, friend.ok, friend.ok_fraction), (3, 0, 0.0));
    let worst = f.worst_dc.as_ref().unwrap();
    assert_eq!((worst.dc.as_str(), worst.ok_fraction), ("asia", 0.0));
    assert!(eventual.fault_devices[0]
        .by_device
        .values()
        .all(|d| d.ok == d.ops));

    // Other-DC readers of the eventual variant: 6 of 10 saw the update, never 99%.
    let other = eventual.reader_visibility.other_dc;
    assert_eq!((other.reads, other.visible), (10, 6));
    assert_eq!(other.visible_99_after_us, None);
    assert_eq!(
        strong.reader_visibility.same_dc.visible_99_after_us,
        Some(20_000)
    );
    // No partial quorum here, so no PBS prediction.
    assert!(strong.pbs.is_none() && eventual.pbs.is_none());
}

#[test]
fn every_chart_is_a_valid_png_and_svg() {
    let tmp = tempfile::tempdir().unwrap();
    let run = analysed(tmp.path());
    let input = report::run_input(&run);
    let rendered = report::render_charts(&input).unwrap();
    let files = report::write_charts(tmp.path(), &rendered).unwrap();
    assert_eq!(files.len(), Chart::ALL.len() * 2);
    for chart in Chart::ALL {
        let png = std::fs::read(
            tmp.path()
                .join("charts")
                .join(format!("{}.png", chart.file_stem())),
        )
        .unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(&png));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), chart.size(&input), "{chart:?}");
        // Not a blank canvas: a good share of pixels are not white.
        let ink = buf[..info.buffer_size()]
            .chunks(3)
            .filter(|p| p != &[255, 255, 255])
            .count();
        assert!(
            ink > (info.width * info.height / 100) as usize,
            "{chart:?}: {ink} inked pixels"
        );
        let svg = std::fs::read_to_string(
            tmp.path()
                .join("charts")
                .join(format!("{}.svg", chart.file_stem())),
        )
        .unwrap();
        assert!(svg.starts_with("<svg"), "{chart:?}");
        assert!(svg.contains(chart.title()), "{chart:?}: no title");
    }
    let svg = |c: Chart| {
        std::fs::read_to_string(
            tmp.path()
                .join("charts")
                .join(format!("{}.svg", c.file_stem())),
        )
        .unwrap()
    };
    // Legends name the variants; time charts label the fault band.
    for c in [
        Chart::LatencyPercentiles,
        Chart::Availability,
        Chart::Convergence,
    ] {
        let s = svg(c);
        assert!(s.contains("strong") && s.contains("eventual"), "{c:?}");
    }
    for c in [
        Chart::LatencyOverTime,
        Chart::Availability,
        Chart::Staleness,
    ] {
        assert!(svg(c).contains("faults[0]: isolate asia"), "{c:?}");
    }
    assert!(svg(Chart::LatencyOverTime).contains("timed out / unknown (3)"));
}

/// The report with the temporary directory replaced by `RUN_DIR`.
fn report_md(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("report.md"))
        .unwrap()
        .replace(&dir.display().to_string(), "RUN_DIR")
}

#[test]
fn the_markdown_report_matches_its_snapshot() {
    let tmp = tempfile::tempdir().unwrap();
    let run = analysed(tmp.path());
    report::report_run(tmp.path(), &run).unwrap();
    let got = report_md(tmp.path());
    let snapshot = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/report-tiny.md");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(snapshot.parent().unwrap()).unwrap();
        std::fs::write(&snapshot, &got).unwrap();
    }
    let want = std::fs::read_to_string(&snapshot).unwrap_or_default();
    assert!(
        got == want,
        "report.md differs from {} (UPDATE_SNAPSHOTS=1 to accept):\n{got}",
        snapshot.display()
    );
}

#[test]
fn the_html_report_is_one_self_contained_file() {
    let tmp = tempfile::tempdir().unwrap();
    let run = analysed(tmp.path());
    report::report_run(tmp.path(), &run).unwrap();
    let html = std::fs::read_to_string(tmp.path().join("report.html")).unwrap();
    assert_eq!(
        html.matches("src=\"data:image/png;base64,").count(),
        Chart::ALL.len()
    );
    assert!(!html.contains("http://") && !html.contains("https://"));
    for section in [
        "CAP trade-off",
        "What each person saw",
        "Anomalies",
        "stale read",
    ] {
        assert!(html.contains(section), "{section}");
    }
    // The same words as the Markdown report.
    let md = std::fs::read_to_string(tmp.path().join("report.md")).unwrap();
    assert!(md.contains("| availability during the partition at 1.5–3.0 s | 53.3% (worst DC asia: 0.0%) | 100.0% (worst DC asia: 100.0%) |"), "{md}");
}

#[test]
fn cli_plot_report_and_compare() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    support::tiny_run::write_run(a.path());
    support::tiny_run::write_run(b.path());
    Command::cargo_bin("caplab")
        .unwrap()
        .arg("plot")
        .arg(a.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("16 charts"));
    assert!(a.path().join("charts/availability.svg").is_file());
    // The eventual variant is not linearizable but claims only convergence: exit 0.
    Command::cargo_bin("caplab")
        .unwrap()
        .arg("report")
        .arg(a.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("report.html"));
    assert!(a.path().join("report.md").is_file());
    assert!(a.path().join("summary.json").is_file());
    let out = tempfile::tempdir().unwrap();
    Command::cargo_bin("caplab")
        .unwrap()
        .args(["compare", "--out"])
        .arg(out.path())
        .arg(a.path())
        .arg(b.path())
        .assert()
        .success();
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    // Two runs of one experiment: columns are told apart by run id.
    assert!(
        md.contains("tiny-partition@20261126T000000Z/strong"),
        "{md}"
    );
    for dir in [a.path(), b.path()] {
        assert!(md.contains(&format!("| `{}` |", dir.display())), "{md}");
    }
    assert!(out.path().join("charts/latency-over-time.png").is_file());
}

#[test]
fn cli_errors_name_the_problem() {
    let empty = tempfile::tempdir().unwrap();
    Command::cargo_bin("caplab")
        .unwrap()
        .arg("report")
        .arg(empty.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("run.json"));
    Command::cargo_bin("caplab")
        .unwrap()
        .args(["compare", "only-one"])
        .assert()
        .code(2);
}

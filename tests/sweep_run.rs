//! `caplab run` on a file with a `[sweep]` section, as a user runs it: the real binary on a
//! tiny two-point sweep in a temporary directory, and the same through `caplab::record`.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use assert_cmd::cargo::cargo_bin;
use caplab::experiment::Overrides;
use caplab::record::Finished;
use caplab::run_dir::manifest::{RunStatus, VariantStatus};
use support::binary::run_and_interrupt;
use support::{edit, fixture, run_in_process};

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_two_point_sweep_records_every_point_and_charts_each_metric() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("tiny-sweep.toml");
    std::fs::write(&file, fixture("tiny-sweep")).unwrap();
    let out = tmp.path().join("results");
    let output = Command::new(cargo_bin("caplab"))
        .args([
            "run",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("sweep of 2 points"), "{stdout}");
    let dir = out.join("tiny-sweep/latest");

    let json: serde_json::Value = serde_json::from_str(&read(&dir.join("sweep.json"))).unwrap();
    assert_eq!(json["status"], "ok");
    assert_eq!(json["seed"], 5);
    assert_eq!(json["parameters"][0]["path"], "variants[0].gossip_interval");
    assert_eq!(json["parameters"][0]["unit"], "ms");
    let points = json["points"].as_array().unwrap();
    assert_eq!(points.len(), 2);
    for (p, (value, x)) in points.iter().zip([("20ms", 20.0), ("400ms", 400.0)]) {
        assert_eq!(p["status"], "ok", "{p}");
        assert_eq!(p["values"][0], value);
        assert_eq!(p["x"][0], x);
        let point_dir = dir.join(p["dir"].as_str().unwrap());
        assert!(point_dir.join("run.json").is_file());
        assert!(point_dir.join("summary.json").is_file());
        // Each point is an ordinary run of its own value, repeatable on its own.
        let toml = read(&point_dir.join("experiment.toml"));
        assert!(
            toml.contains(&format!("gossip_interval = \"{value}\"")),
            "{toml}"
        );
        assert!(!toml.contains("[sweep]"), "{toml}");
        let metrics = &p["variants"][0];
        assert_eq!(metrics["variant"], "gossip");
        assert!(metrics["metrics"]["read_p99_ms"]["mean"].as_f64().unwrap() > 0.0);
        assert!(
            metrics["metrics"]["messages_per_op"]["mean"]
                .as_f64()
                .unwrap()
                > 0.0
        );
        // One run per point: no interval, n = 1, the point's folder is the run.
        assert_eq!(metrics["metrics"]["messages_per_op"]["n"], 1);
        assert!(metrics["metrics"]["messages_per_op"]["ci_low"].is_null());
        assert_eq!(p["repetitions"][0]["dir"], p["dir"]);
        assert_eq!(p["repetitions"][0]["seed"], 5);
    }
    assert_eq!(points[0]["dir"], "p1-gossip_interval-20ms");
    // Gossiping twenty times as often costs more messages per operation.
    let messages = |i: usize| {
        points[i]["variants"][0]["metrics"]["messages_per_op"]["mean"]
            .as_f64()
            .unwrap()
    };
    assert!(
        messages(0) > messages(1),
        "{} vs {}",
        messages(0),
        messages(1)
    );

    let csv = read(&dir.join("sweep.csv"));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "point,variants.gossip.gossip_interval,variant,status,runs,\
         read_p99_ms,read_p99_ms_ci_low,read_p99_ms_ci_high,read_p99_ms_n,\
         friend_stale_share,friend_stale_share_ci_low,friend_stale_share_ci_high,friend_stale_share_n,\
         messages_per_op,messages_per_op_ci_low,messages_per_op_ci_high,messages_per_op_n"
    );
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[1].starts_with("1,20ms,gossip,ok,1,"), "{csv}");
    assert!(lines[2].starts_with("2,400ms,gossip,ok,1,"), "{csv}");

    for metric in ["read_p99_ms", "friend_stale_share", "messages_per_op"] {
        let png = std::fs::read(dir.join(format!("charts/sweep-{metric}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{metric}");
        let svg = read(&dir.join(format!("charts/sweep-{metric}.svg")));
        assert!(
            svg.starts_with("<svg") && svg.contains("gossip"),
            "{metric}"
        );
    }
    let report = read(&dir.join("report.md"));
    assert!(report.starts_with("# caplab sweep: tiny-sweep"), "{report}");
    assert!(
        report.contains("(charts/sweep-messages_per_op.png)"),
        "{report}"
    );
    assert!(report.contains("## The runs"), "{report}");
    assert!(dir.join("report.html").is_file());
    assert!(dir.join("sweep.toml").is_file());
}

#[test]
fn ctrl_c_stops_the_sweep_and_keeps_the_finished_points() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("tiny-sweep.toml");
    // The second point runs for a minute: it is interrupted.
    let text = edit(
        &fixture("tiny-sweep"),
        "key = \"variants.gossip.gossip_interval\"\nvalues = [\"20ms\", \"400ms\"]",
        "key = \"duration\"\nvalues = [\"1s\", \"60s\", \"2s\"]",
    );
    let text = edit(&text, "metrics = [\"read_p99_ms\", ", "metrics = [");
    std::fs::write(&file, text).unwrap();
    let out = tmp.path().join("results");
    // Interrupt the second point once it is recording.
    let history = out.join("tiny-sweep/latest/p2-duration-60s/gossip/history.jsonl");
    let status = run_and_interrupt(
        &file,
        &out,
        &history,
        Duration::from_secs(60),
        Duration::from_secs(30),
    );
    assert_eq!(status.code(), Some(2));
    let dir = out.join("tiny-sweep/latest");
    let json: serde_json::Value = serde_json::from_str(&read(&dir.join("sweep.json"))).unwrap();
    assert_eq!(json["status"], "interrupted");
    let statuses: Vec<&str> = json["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["ok", "interrupted", "not-run"]);
    assert!(
        json["points"][0]["variants"][0]["metrics"]["messages_per_op"]["mean"]
            .as_f64()
            .is_some()
    );
    assert!(read(&dir.join("sweep.csv")).contains("\n2,60s,,interrupted,"));
    assert!(dir.join("charts/sweep-messages_per_op.png").is_file());
    assert!(dir.join("report.html").is_file());
}

#[test]
fn a_sweep_runs_without_the_binary_and_a_long_swept_description_fits_in_folder_names() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("tiny-sweep.toml");
    let long = "a description long enough to break a file name if it were used whole, ".repeat(5);
    let text = format!(
        "description = \"base\"\n{}",
        edit(
            &fixture("tiny-sweep"),
            "key = \"variants.gossip.gossip_interval\"\nvalues = [\"20ms\", \"400ms\"]",
            &format!("key = \"description\"\nvalues = [\"{long}1\", \"{long}2\"]"),
        )
    );
    std::fs::write(&file, text).unwrap();
    let out = tmp.path().join("results");
    let (finished, console) = run_in_process(&file, &out, &Overrides::default(), &[]);
    let Finished::Sweep(sweep) = &finished else {
        panic!("not a sweep")
    };
    assert_eq!(finished.exit_code(), 0, "{}", console.text());
    assert_eq!(sweep.record.status, RunStatus::Ok);
    assert!(sweep
        .record
        .points
        .iter()
        .all(|p| p.status == VariantStatus::Ok && p.dir.len() < 80));
    assert!(
        console.text().contains("sweep ok: 2 of 2 points ok"),
        "{}",
        console.text()
    );
    let on_disk: caplab::sweep::SweepRecord =
        serde_json::from_str(&read(&out.join("tiny-sweep/latest/sweep.json"))).unwrap();
    assert_eq!(on_disk, sweep.record);
}

#[test]
fn seeds_repeat_every_point_and_the_record_carries_the_interval() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("tiny-sweep.toml");
    // One point run twice (two points would only double the time).
    let text = edit(&fixture("tiny-sweep"), "[sweep]\n", "[sweep]\nseeds = 2\n");
    let text = edit(
        &text,
        "values = [\"20ms\", \"400ms\"]",
        "values = [\"20ms\"]",
    );
    std::fs::write(&file, text).unwrap();
    let out = tmp.path().join("results");
    let (finished, console) = run_in_process(&file, &out, &Overrides::default(), &[]);
    let Finished::Sweep(sweep) = &finished else {
        panic!("not a sweep")
    };
    let text = console.text();
    assert_eq!(finished.exit_code(), 0, "{text}");
    assert!(
        text.contains("sweep of 1 point: variants.gossip.gossip_interval over 20ms, 2 seeds each"),
        "{text}"
    );
    assert!(
        text.contains("point 1/1: gossip_interval = 20ms, seed 2/2"),
        "{text}"
    );
    assert!(
        text.contains("95% confidence interval (Student t) over 2 seeds"),
        "{text}"
    );
    let record = &sweep.record;
    assert_eq!(record.seeds, 2);
    let dir = out.join("tiny-sweep/latest");
    for point in &record.points {
        assert_eq!(point.status, VariantStatus::Ok, "{point:?}");
        assert_eq!(point.repetitions.len(), 2);
        assert_eq!(point.repetitions[0].seed, 5);
        let derived = caplab::sweep::plan::repetition_seed(5, 1);
        assert_eq!(point.repetitions[1].seed, derived);
        assert_eq!(
            point.repetitions[1].dir,
            format!("{}/r2-seed-{derived}", point.dir)
        );
        // Each repetition is an ordinary run with its own seed written in.
        for rep in &point.repetitions {
            let run = dir.join(&rep.dir);
            assert!(run.join("summary.json").is_file(), "{}", run.display());
            let toml = read(&run.join("experiment.toml"));
            assert!(toml.contains(&format!("seed = {}", rep.seed)), "{toml}");
        }
        let stats = point.stats("gossip", "messages_per_op").unwrap();
        assert_eq!(stats.n, 2);
        assert_eq!(stats.values.len(), 2);
        let (lo, mean, hi) = (
            stats.ci_low.unwrap(),
            stats.mean.unwrap(),
            stats.ci_high.unwrap(),
        );
        assert!(lo <= mean && mean <= hi, "{stats:?}");
        let values: Vec<f64> = stats.values.iter().map(|v| v.unwrap()).collect();
        assert!(
            (mean - (values[0] + values[1]) / 2.0).abs() < 1e-5,
            "{stats:?}"
        );
    }
    // Different seeds, different schedules.
    let p1 = &record.points[0];
    assert_ne!(
        std::fs::read(dir.join(&p1.repetitions[0].dir).join("schedule.jsonl")).unwrap(),
        std::fs::read(dir.join(&p1.repetitions[1].dir).join("schedule.jsonl")).unwrap()
    );
    let csv = read(&dir.join("sweep.csv"));
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .starts_with("1,20ms,gossip,ok,2,"),
        "{csv}"
    );
    let svg = read(&dir.join("charts/sweep-messages_per_op.svg"));
    assert!(svg.contains("gossip"));
    let report = read(&dir.join("report.md"));
    assert!(report.contains("2 times per point"), "{report}");
    assert!(report.contains(" ± "), "{report}");
}

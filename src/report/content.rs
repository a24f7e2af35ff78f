//! The words and tables of a report, written from the numbers of the run(s): the
//! experiment in plain words, the CAP trade-off table, "what each person saw", the smallest
//! example of each anomaly, and the charts with their captions.
//!
//! Every number comes from the analysis (the summary of each variant, including the
//! home-DC split, per-fault device counts, visibility facts and the PBS comparison it
//! measured for the report); this module only chooses words and formats. Terms:
//! **home DC** clients are in the profile owner's home DC (the laptop, the phone before it
//! travels); **other DC** clients are elsewhere (friends, a travelling phone).
//!
//! Deliberately left out: judging which system is "better" — the report shows the
//! trade-off and leaves the choice to the reader.

use super::charts::Chart;
use super::data::{Column, Input, Reader, DEVICES, MIN_BUCKET_READS};
use super::doc::{Block, Doc};
use crate::analysis::availability::FaultReport;
use crate::analysis::home::P50P99;
use crate::analysis::pbs_compare::MIN_DIFFERENCE_READS;
use crate::analysis::session::Example;
use crate::analysis::visibility_facts::ReaderFacts;
use crate::analysis::RunAnalysis;
use crate::experiment::{
    AntiEntropy, Conflict, Engine, Experiment, Fsync, RaftStorage, ReadPolicy, VariantParams,
};
use crate::history::{Device, OpKind, OpRecord, Outcome};

/// One run of a report: its analysis and where its files are (as shown to the reader).
#[derive(Debug, Clone, Copy)]
pub struct RunRef<'a> {
    pub dir: &'a str,
    pub analysis: &'a RunAnalysis,
}

/// The report of one run.
pub fn run_report(run: RunRef, input: &Input) -> Doc {
    let a = run.analysis;
    let mut doc = Doc {
        title: format!("caplab report: {}", a.summary.experiment),
        ..Doc::default()
    };
    doc.para(format!(
        "Run `{}` of experiment **{}**, seed `{}`, on the {}. Verdict: **{}**.",
        a.summary.run_id,
        a.summary.experiment,
        a.summary
            .seed
            .map_or_else(|| "unknown".to_string(), |s| s.to_string()),
        engine_words(a.summary.engine),
        verdict_words(a.summary.verdict)
    ));
    headline(&mut doc, input);
    doc.heading(1, "The experiment");
    experiment_section(&mut doc, &a.experiment, input);
    doc.heading(2, "How to re-run it");
    doc.para(
        "The run directory holds the experiment file with its seed; running it again replays \
         the same schedule of operations and faults:",
    );
    doc.push(Block::Code(format!(
        "caplab run {dir}/experiment.toml\ncaplab report {dir}    # redo charts and report from the recorded files",
        dir = run.dir
    )));
    if a.summary.engine == Engine::Sim {
        doc.para(
            "This run was recorded in virtual time, so the first command reproduces it \
             byte for byte (history, events and summary). `--engine real` runs the same \
             file over loopback TCP in real time; `caplab compare REAL_RUN SIM_RUN` then \
             says, metric by metric, whether the two engines agree. Virtual time moves in \
             whole milliseconds and processing takes none of it: a message delay under \
             half a millisecond is 0, so operations answered inside one DC show 0 ms \
             (on the bottom edge of the log-scale latency charts).",
        );
    }
    common_sections(&mut doc, input);
    doc
}

fn engine_words(e: Engine) -> &'static str {
    match e {
        Engine::Real => "real engine (loopback TCP, real time)",
        Engine::Sim => "sim engine (in-memory network, virtual time)",
    }
}

/// The comparison report of several runs.
pub fn compare_report(runs: &[RunRef], input: &Input) -> Doc {
    let mut doc = Doc {
        title: "caplab comparison".to_string(),
        ..Doc::default()
    };
    doc.para(format!(
        "{} runs side by side; each column is one variant of one run.",
        runs.len()
    ));
    headline(&mut doc, input);
    doc.heading(1, "The runs");
    let rows = runs
        .iter()
        .map(|r| {
            let s = &r.analysis.summary;
            vec![
                format!("`{}`", r.dir),
                s.experiment.clone(),
                s.seed.map_or_else(|| "?".to_string(), |x| x.to_string()),
                experiment_line(&r.analysis.experiment),
                verdict_words(s.verdict).to_string(),
            ]
        })
        .collect();
    doc.push(Block::Table {
        header: ["run", "experiment", "seed", "setup", "verdict"]
            .map(String::from)
            .to_vec(),
        rows,
    });
    for r in runs {
        doc.heading(
            2,
            format!("{} (`{}`)", r.analysis.summary.experiment, r.dir),
        );
        experiment_section(&mut doc, &r.analysis.experiment, input);
    }
    common_sections(&mut doc, input);
    doc
}

fn common_sections(doc: &mut Doc, input: &Input) {
    doc.heading(1, "CAP trade-off");
    doc.para(
        "One column per system. Latencies are of successful operations (p50 / p99); \
         **home DC** means the client was in the profile owner's home DC, **other DC** \
         anywhere else. Availability is the share of operations that succeeded.",
    );
    doc.push(cap_table(input));
    doc.heading(1, "What each person saw");
    doc.para(
        "The motivating scenario: the owner updates the profile picture on the phone; the \
         owner's laptop (same DC) and a friend abroad (another DC) view it.",
    );
    for c in &input.columns {
        what_each_saw(doc, c);
    }
    if input.columns.iter().any(|c| c.pbs().is_some()) {
        doc.heading(1, "The PBS model beside the measurement");
        doc.para(
            "For partial-quorum variants, the Probabilistically Bounded Staleness model \
             (Bailis et al., VLDB 2012; WARS Monte Carlo over this experiment's link delays, \
             per read: the key's replicas, the writer's and the reader's coordinator) predicts \
             the chance that each read sees the newest acknowledged write. Averaged over the \
             same reads as the measured visibility curve; the model knows nothing of read \
             repair, hints, anti-entropy, faults or newer writes racing the read, so \
             differences point at those.",
        );
        for c in &input.columns {
            pbs_section(doc, c);
        }
    }
    super::raft::section(doc, &input.columns);
    doc.heading(1, "Anomalies");
    anomalies(doc, input);
    doc.heading(1, "Charts");
    for chart in Chart::ALL {
        doc.push(Block::Figure {
            stem: chart.file_stem().to_string(),
            title: chart.title().to_string(),
            caption: chart.caption().to_string(),
        });
    }
}

fn verdict_words(v: crate::analysis::Verdict) -> &'static str {
    use crate::analysis::Verdict;
    match v {
        Verdict::Consistent => "every variant met the consistency it claims",
        Verdict::Anomaly => "at least one variant did not meet the consistency it claims",
        Verdict::Incomplete => "incomplete: only part of the run was recorded, no claim judged",
        Verdict::Invalid => "invalid: caplab failed or the record is corrupt, no claim judged",
    }
}

/// One sentence per column with the numbers a reader looks for first.
fn headline(doc: &mut Doc, input: &Input) {
    let items = input
        .columns
        .iter()
        .map(|c| {
            let s = &c.analysis.summary;
            let mut line = format!(
                "**{}**: {} of operations succeeded",
                c.label,
                pct(s.availability.ok_fraction)
            );
            for f in &s.availability.faults {
                line.push_str(&format!(
                    " ({} during {})",
                    pct(f.ok_fraction),
                    fault_short(f)
                ));
            }
            line.push_str(&format!(
                "; {} of reads were stale (friends: {}); reads p50 {}, writes p50 {}.",
                pct(s.reads.stale_fraction),
                pct(device_stale(c, Device::Friend)),
                ms_opt(s.reads.latency_us.as_ref().map(|l| l.p50)),
                ms_opt(s.writes.latency_us.as_ref().map(|l| l.p50)),
            ));
            line
        })
        .collect();
    doc.push(Block::List(items));
}

fn experiment_line(e: &Experiment) -> String {
    format!(
        "{} DCs, {} nodes, {} users at {}/s, {} s",
        e.topology.dcs.len(),
        e.topology.nodes.len(),
        e.workload.users,
        e.workload.rate,
        e.duration.as_secs_f64()
    )
}

fn experiment_section(doc: &mut Doc, e: &Experiment, input: &Input) {
    if let Some(d) = &e.description {
        doc.para(d.clone());
    }
    doc.para(format!(
        "Measured window {} after a {} warm-up, then {} of cool-down for in-flight operations \
         and convergence.",
        dur(e.duration),
        dur(e.warmup),
        dur(e.cooldown)
    ));
    let t = &e.topology;
    let mut rows: Vec<Vec<String>> = Vec::new();
    for (i, from) in t.dcs.iter().enumerate() {
        for (j, to) in t.dcs.iter().enumerate().skip(i) {
            let link = &t.links[i][j];
            let back = &t.links[j][i];
            let mut delay = link.delay.to_string();
            if i != j && back.delay != link.delay {
                delay = format!("{delay} (back: {})", back.delay);
            }
            let what = if i == j {
                format!(
                    "{} ({} node{}) inside",
                    from.name,
                    from.nodes,
                    if from.nodes == 1 { "" } else { "s" }
                )
            } else {
                format!("{} ↔ {}", from.name, to.name)
            };
            rows.push(vec![what, delay, format!("{:.1}%", link.loss * 100.0)]);
        }
    }
    rows.push(vec![
        "client ↔ node in its DC".into(),
        t.client_delay.to_string(),
        "0.0%".into(),
    ]);
    doc.push(Block::Table {
        header: ["link", "one-way delay", "loss"].map(String::from).to_vec(),
        rows,
    });
    let w = &e.workload;
    let mut items = vec![
        format!(
            "{} users, {} operations per second in all (open loop, Poisson arrivals), {:.0}% \
             picture updates of {} bytes; client timeout {}.",
            w.users,
            w.rate,
            w.write_fraction * 100.0,
            w.picture_bytes,
            dur(w.timeout)
        ),
        format!(
            "Viewers: phone {:.0}%, laptop {:.0}%, friend {:.0}% of reads.",
            w.readers.phone / reader_total(e) * 100.0,
            w.readers.laptop / reader_total(e) * 100.0,
            w.readers.friend / reader_total(e) * 100.0
        ),
    ];
    if let Some(tr) = &w.travel {
        items.push(format!(
            "The first {} users' phones travel to {} at {}.",
            tr.users,
            t.dcs.get(tr.to).map_or("?", |d| d.name.as_str()),
            dur(tr.at)
        ));
    }
    doc.push(Block::List(items));
    let variants: Vec<String> = e
        .variants
        .iter()
        .map(|v| {
            format!(
                "**{}** ({}): {}",
                v.name,
                v.kind().as_str(),
                params(&v.params)
            )
        })
        .collect();
    doc.para("Systems compared:");
    doc.push(Block::List(variants));
    let faults = input
        .columns
        .first()
        .map(|c| c.analysis.summary.availability.faults.clone())
        .unwrap_or_default();
    if faults.is_empty() {
        doc.para("No faults were injected.");
    } else {
        doc.para("Faults, as they happened in the first variant (same schedule in every variant):");
        doc.push(Block::List(
            faults
                .iter()
                .map(|f| {
                    format!(
                        "{} from {} to {}",
                        f.detail,
                        secs_f(f.start_s),
                        f.end_s.map_or_else(|| "the end".to_string(), secs_f)
                    )
                })
                .collect(),
        ));
    }
}

fn reader_total(e: &Experiment) -> f64 {
    let r = &e.workload.readers;
    (r.phone + r.laptop + r.friend).max(f64::MIN_POSITIVE)
}

fn params(p: &VariantParams) -> String {
    match p {
        VariantParams::Raft(r) => format!(
            "heartbeat {}, election timeout {}–{}, {} reads, log {}",
            dur(r.heartbeat_interval),
            dur(r.election_timeout_min),
            dur(r.election_timeout_max),
            match r.read_policy {
                ReadPolicy::Linearizable => "linearizable (ReadIndex)",
                ReadPolicy::Follower => "follower (local, may be stale)",
                ReadPolicy::Lease => "lease (LeaseRead, assumes bounded clock drift)",
            },
            match r.storage {
                RaftStorage::Memory => "in memory",
                RaftStorage::Disk {
                    fsync: Fsync::Always,
                } => "on disk, fsync always",
                RaftStorage::Disk {
                    fsync: Fsync::Batch,
                } => "on disk, fsync batch (2 ms window)",
            }
        ),
        VariantParams::Gossip(g) => format!(
            "{}, rumours to {} peers for {} hops, anti-entropy {} every {}, write acknowledged by {} replica(s), {} store",
            match g.conflict {
                Conflict::LwwHlc => "last writer wins by hybrid logical clock",
                Conflict::LwwWallclock => "last writer wins by wall clock",
            },
            g.fanout,
            g.rumor_hops,
            match g.anti_entropy {
                AntiEntropy::Off => "off",
                AntiEntropy::Push => "push",
                AntiEntropy::Pull => "pull",
                AntiEntropy::PushPull => "push-pull",
            },
            dur(g.gossip_interval),
            g.write_acks,
            if g.durable { "durable" } else { "volatile" }
        ),
    }
}

/// p50 / p99 of a latency split cell.
fn p50_p99(p: Option<&P50P99>) -> String {
    p.map_or_else(
        || "—".to_string(),
        |p| format!("{} / {}", ms(p.p50), ms(p.p99)),
    )
}

fn cap_table(input: &Input) -> Block {
    let mut header = vec![String::new()];
    header.extend(input.columns.iter().map(|c| format!("**{}**", c.label)));
    let mut rows: Vec<Vec<String>> = Vec::new();
    // `f` gets each column with its position.
    let mut row = |name: &str, f: &dyn Fn(usize, &Column) -> String| {
        let mut r = vec![name.to_string()];
        r.extend(input.columns.iter().enumerate().map(|(i, c)| f(i, c)));
        rows.push(r);
    };
    row("kind", &|_, c| c.analysis.summary.kind.clone());
    row("consistency claim", &|_, c| {
        let v = &c.analysis.summary.verdict;
        use crate::analysis::verdict::ClaimStatus;
        let met = match v.status {
            ClaimStatus::Met => "met".to_string(),
            ClaimStatus::NotMet => "**NOT met**".to_string(),
            ClaimStatus::Undecided => "undecided".to_string(),
            ClaimStatus::Incomplete | ClaimStatus::Invalid => format!(
                "**{}** ({})",
                v.status.as_str(),
                v.reasons.first().map_or("", String::as_str)
            ),
        };
        format!("{}: {met}", v.claim)
    });
    for (name, kind, home) in [
        ("write latency, home DC", OpKind::Write, true),
        ("write latency, other DC", OpKind::Write, false),
        ("read latency, home DC", OpKind::Read, true),
        ("read latency, other DC", OpKind::Read, false),
    ] {
        row(name, &|_, c| {
            let split = c.analysis.summary.home_latency_us.as_ref();
            p50_p99(split.and_then(|s| s.get(kind, home)))
        });
    }
    row("availability (ok share)", &|_, c| {
        let a = &c.analysis.summary.availability;
        format!(
            "{} ({} failed, {} unknown)",
            pct(a.ok_fraction),
            pct(a.fail_fraction),
            pct(a.unknown_fraction)
        )
    });
    let faults: Vec<String> = input
        .columns
        .first()
        .map(|c| {
            c.analysis
                .summary
                .availability
                .faults
                .iter()
                .map(fault_short)
                .collect()
        })
        .unwrap_or_default();
    for (i, name) in faults.iter().enumerate() {
        row(&format!("availability during {name}"), &|_, c| {
            c.analysis
                .summary
                .availability
                .faults
                .get(i)
                .map_or("—".to_string(), |f| {
                    let worst = c
                        .analysis
                        .summary
                        .fault_devices
                        .get(i)
                        .and_then(|d| d.worst_dc.as_ref());
                    match worst {
                        Some(w) if f.by_dc.len() > 1 => format!(
                            "{} (worst DC {}: {})",
                            pct(f.ok_fraction),
                            w.dc,
                            pct(Some(w.ok_fraction))
                        ),
                        _ => pct(f.ok_fraction),
                    }
                })
        });
    }
    row("stale reads (all / friends)", &|_, c| {
        format!(
            "{} / {}",
            pct(c.analysis.summary.reads.stale_fraction),
            pct(device_stale(c, Device::Friend))
        )
    });
    row(
        "visible on every replica after (p50 / p99)",
        &|_, c| match &c.analysis.summary.staleness.convergence_lag_us {
            Some(l) => {
                let base = l.stats.as_ref().map_or("—".to_string(), |s| {
                    format!("{} / {}", ms(s.p50), ms(s.p99))
                });
                if l.never_converged > 0 {
                    format!("{base} ({} writes never)", l.never_converged)
                } else {
                    base
                }
            }
            None => "not recorded".to_string(),
        },
    );
    row("no stale read after (p50 / p99)", &|_, c| {
        let s = &c.analysis.summary.staleness.stable_latency_us;
        let base = s.stats.as_ref().map_or("—".to_string(), |d| {
            format!("{} / {}", ms(d.p50), ms(d.p99))
        });
        if s.never_stable > 0 {
            format!("{base} ({} writes never)", s.never_stable)
        } else {
            base
        }
    });
    row("linearizable", &|_, c| {
        let l = &c.analysis.summary.linearizability;
        match l.verdict {
            Some(true) => format!("yes ({} keys)", l.keys_linearizable),
            Some(false) => format!("**no** ({} keys not)", l.keys_not_linearizable),
            None => format!("undecided ({} keys unchecked)", l.keys_unknown),
        }
    });
    row("read-your-writes / monotonic-read violations", &|_, c| {
        let s = &c.analysis.summary.session;
        format!(
            "{} of {} / {} of {}",
            s.read_your_writes_violations,
            s.read_your_writes_checked,
            s.monotonic_read_violations,
            s.monotonic_reads_checked
        )
    });
    row("lost acknowledged writes", &|_, c| {
        let l = &c.analysis.summary.lost;
        match &l.explained_by {
            Some(why) if l.lost_writes > 0 => format!("{} ({why})", l.lost_writes),
            _ => l.lost_writes.to_string(),
        }
    });
    row("messages per operation", &|_, c| {
        c.analysis
            .summary
            .messages_per_op
            .map_or("—".to_string(), |m| format!("{m:.1}"))
    });
    Block::Table { header, rows }
}

fn device_stale(c: &Column, d: Device) -> Option<f64> {
    c.analysis
        .summary
        .breakdown
        .by_device
        .get(d.as_str())
        .and_then(|g| g.stale_fraction)
}

fn sees_line(f: &ReaderFacts) -> String {
    if f.reads == 0 {
        return "no such read followed an acknowledged update".to_string();
    }
    let when = match f.visible_99_after_us {
        Some(0) => "at least 99% saw it from the very first millisecond".to_string(),
        Some(us) => format!(
            "reads {} or more after the update saw it at least 99% of the time",
            ms(us)
        ),
        None => "even the latest reads saw it less than 99% of the time".to_string(),
    };
    format!(
        "{} of {} reads after an acknowledged update saw it or newer ({}); {when}",
        f.visible,
        f.reads,
        pct(f.visible_fraction)
    )
}

fn what_each_saw(doc: &mut Doc, c: &Column) {
    let s = &c.analysis.summary;
    doc.heading(2, c.label.clone());
    let phone = s.breakdown.by_device.get(Device::Phone.as_str());
    let mut items = Vec::new();
    let w = &s.writes;
    items.push(format!(
        "**My phone** (updates): {} of {} updates were acknowledged, taking {} (p50 / p99); \
         {} failed and {} had an unknown outcome (timed out).",
        w.ok,
        w.ops,
        w.latency_us.as_ref().map_or("—".to_string(), |l| format!(
            "{} / {}",
            ms(l.p50),
            ms(l.p99)
        )),
        w.fail,
        w.unknown
    ));
    if let Some(p) = phone {
        if p.reads_checked > 0 {
            items.push(format!(
                "My phone viewing my own picture: {} of its reads were stale.",
                pct(p.stale_fraction)
            ));
        }
    }
    let vis = &s.reader_visibility;
    items.push(format!(
        "**My laptop** (at home, the update's DC unless the phone travelled): stale in {} of \
         its reads. Same-DC readers: {}.",
        pct(device_stale(c, Device::Laptop)),
        sees_line(vis.of(Reader::SameDc))
    ));
    items.push(format!(
        "**My friend abroad** (another DC): stale in {} of their reads. Other-DC readers: {}.",
        pct(device_stale(c, Device::Friend)),
        sees_line(vis.of(Reader::OtherDc))
    ));
    let ses = &s.session;
    items.push(format!(
        "Across my devices: {} read-your-writes violations (a device of mine showed a picture \
         older than one I had already set) and {} monotonic-read violations (a viewer went back \
         to an older picture).",
        ses.read_your_writes_violations, ses.monotonic_read_violations
    ));
    doc.push(Block::List(items));
    for (i, f) in s.availability.faults.iter().enumerate() {
        let mut parts = Vec::new();
        for d in DEVICES {
            let Some(n) = s
                .fault_devices
                .get(i)
                .and_then(|fd| fd.by_device.get(d.as_str()))
            else {
                continue;
            };
            let stale = f
                .stale_by_device
                .get(d.as_str())
                .and_then(|x| x.stale_fraction);
            parts.push(format!(
                "{} {} of {} operations succeeded{}",
                d.as_str(),
                pct(Some(n.ok_fraction)),
                n.ops,
                match stale {
                    Some(st) => format!(", {} of reads stale", pct(Some(st))),
                    None => String::new(),
                }
            ));
        }
        let after = match (f.recovery_us, f.converged_after_us) {
            (_, Some(conv)) => format!(" Replicas agreed again {} after it ended.", ms(conv)),
            _ => String::new(),
        };
        doc.para(format!(
            "During {}: {}.{after}",
            fault_short(f),
            if parts.is_empty() {
                "no operations".to_string()
            } else {
                parts.join("; ")
            }
        ));
    }
}

fn pbs_section(doc: &mut Doc, c: &Column) {
    let Some(p) = c.pbs() else {
        return;
    };
    doc.heading(
        2,
        format!("{} (n = {}, r = {}, w = {})", c.label, p.n, p.r, p.w),
    );
    let mut rows = Vec::new();
    for reader in Reader::ALL {
        let name = reader_name(reader);
        for r in p
            .rows(reader)
            .iter()
            .filter(|r| r.reads >= MIN_BUCKET_READS)
        {
            let diff = (r.measured - r.predicted) * 100.0;
            rows.push(vec![
                bucket_words(r.from_us, r.to_us),
                name.to_string(),
                r.reads.to_string(),
                pct(Some(r.measured)),
                pct(Some(r.predicted)),
                format!("{diff:+.1}"),
            ]);
        }
    }
    doc.push(Block::Table {
        header: [
            "time since the write",
            "readers",
            "reads",
            "measured",
            "PBS",
            "difference (points)",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    });
    if let Some(d) = &p.largest_difference {
        doc.para(format!(
            "Largest difference over buckets with at least {MIN_DIFFERENCE_READS} reads: \
             {:+.1} percentage points ({} readers, {}).",
            d.points,
            reader_name(d.reader),
            bucket_words(d.from_us, d.to_us)
        ));
    }
}

fn reader_name(r: Reader) -> &'static str {
    match r {
        Reader::SameDc => "same DC",
        Reader::OtherDc => "other DC",
    }
}

/// A visibility bucket as words: `2.0 ms–5.0 ms`, `≥ 300 s`.
fn bucket_words(from_us: u64, to_us: Option<u64>) -> String {
    match to_us {
        Some(to) => format!("{}–{}", ms(from_us), ms(to)),
        None => format!("≥ {}", ms(from_us)),
    }
}

fn fault_short(f: &FaultReport) -> String {
    format!(
        "the {} at {:.1}–{} s",
        f.kind,
        f.start_s,
        f.end_s
            .map_or_else(|| "end".to_string(), |e| format!("{e:.1}"))
    )
}

fn anomalies(doc: &mut Doc, input: &Input) {
    let mut any = false;
    for c in &input.columns {
        let s = &c.analysis.summary;
        // The first (earliest) example of each kind the analysis kept.
        let examples: [(&str, Option<&Example>); 5] = [
            ("stale read", s.staleness.examples.first()),
            (
                "read-your-writes violation",
                s.session.examples.read_your_writes.first(),
            ),
            (
                "monotonic-read violation",
                s.session.examples.monotonic_reads.first(),
            ),
            (
                "lost write (order inverted)",
                s.lost.examples.inversions.first(),
            ),
            ("lost write (vanished)", s.lost.examples.vanished.first()),
        ];
        let mut found: Vec<(&str, &str, &[OpRecord])> = examples
            .iter()
            .filter_map(|(what, e)| e.map(|e| (*what, e.explanation.as_str(), &e.ops[..])))
            .collect();
        if let Some(ce) = &s.linearizability.counterexample {
            found.push(("not linearizable", &ce.explanation, &ce.ops));
        }
        for (what, expl, ops) in found {
            any = true;
            doc.para(format!(
                "**{}: {what}.** {}. (Times on the run's clock; the workload started \
                 at {:.3} s.)",
                c.label,
                expl.trim_end_matches('.'),
                s.window_start_us as f64 / 1e6
            ));
            doc.push(ops_table(ops));
        }
        for d in s.convergence.examples.iter().take(1) {
            any = true;
            let held: Vec<String> = d
                .final_values
                .iter()
                .map(|(n, v)| format!("{n}: {}", v.as_deref().unwrap_or("nothing")))
                .collect();
            doc.para(format!(
                "**{}: replicas disagree at the end.** Key `{}`: {}.",
                c.label,
                d.key,
                held.join(", ")
            ));
        }
    }
    if !any {
        doc.para("No anomaly was found in any variant.");
    }
}

fn ops_table(ops: &[OpRecord]) -> Block {
    let t = |us: u64| format!("{:.6} s", us as f64 / 1e6);
    Block::Table {
        header: [
            "op",
            "client",
            "DC → node",
            "kind",
            "key",
            "value",
            "invoked",
            "completed",
            "outcome",
        ]
        .map(String::from)
        .to_vec(),
        rows: ops
            .iter()
            .map(|o| {
                vec![
                    o.id.to_string(),
                    o.client.clone(),
                    format!("{} → {}", o.dc, o.node.as_deref().unwrap_or("none")),
                    match o.kind {
                        OpKind::Read => "read".into(),
                        OpKind::Write => "write".into(),
                    },
                    format!("`{}`", o.key),
                    o.value
                        .as_deref()
                        .map_or("no picture".to_string(), |v| format!("`{v}`")),
                    t(o.invoke_us),
                    t(o.complete_us),
                    match o.outcome {
                        Outcome::Ok => "ok".into(),
                        Outcome::Fail => "fail".into(),
                        Outcome::Unknown => "unknown".into(),
                    },
                ]
            })
            .collect(),
    }
}

/// A share as a percentage with one decimal (`—` for none).
pub fn pct(x: Option<f64>) -> String {
    x.map_or("—".to_string(), |x| format!("{:.1}%", x * 100.0))
}

/// Microseconds as a short duration: `0.66 ms`, `3.2 ms`, `246 ms`, `1.25 s`.
pub fn ms(us: u64) -> String {
    let m = us as f64 / 1e3;
    if us == 0 {
        "0 ms".to_string()
    } else if m >= 1000.0 {
        format!("{:.2} s", m / 1000.0)
    } else if m >= 10.0 {
        format!("{m:.0} ms")
    } else if m >= 1.0 {
        format!("{m:.1} ms")
    } else {
        format!("{m:.2} ms")
    }
}

fn ms_opt(us: Option<u64>) -> String {
    us.map_or("—".to_string(), ms)
}

fn dur(d: std::time::Duration) -> String {
    ms(d.as_micros() as u64)
}

fn secs_f(s: f64) -> String {
    format!("{s:.1} s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_shares_read_well() {
        assert_eq!(ms(0), "0 ms");
        assert_eq!(ms(660), "0.66 ms");
        assert_eq!(ms(3_240), "3.2 ms");
        assert_eq!(ms(246_000), "246 ms");
        assert_eq!(ms(1_250_000), "1.25 s");
        assert_eq!(pct(Some(0.6471)), "64.7%");
        assert_eq!(pct(None), "—");
    }
}

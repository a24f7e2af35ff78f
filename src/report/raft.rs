//! The report's Raft section: for each Raft variant, where the leader was and why it moved,
//! the latency lower bound per client DC beside the measured p50/p99 (and the bound with the
//! best leader placement), and each failover beside what the configuration implies.
//!
//! Every number comes from the analysis (`analysis::raft_model`); this module only words
//! and tabulates them.
//!
//! Deliberately left out: charts of the leader timeline (the table lists every change).

use super::content::ms;
use super::data::Column;
use super::doc::{Block, Doc};
use crate::analysis::raft_model::{LeaderCause, RaftModel};

/// The section, if any column is a Raft variant with a model.
pub fn section(doc: &mut Doc, columns: &[Column]) {
    let models: Vec<(&Column, &RaftModel)> = columns
        .iter()
        .filter_map(|c| c.analysis.summary.raft_model.as_ref().map(|m| (c, m)))
        .collect();
    if models.is_empty() {
        return;
    }
    doc.heading(1, "The Raft model beside the measurement");
    doc.para(
        "Lower bound of a Raft operation from the topology's mean delays: 2 × client delay + \
         the round trip from the client's node to the leader (0 on the leader) + the leader's \
         round trip to the (majority − 1)-th nearest other node (ReadIndex reads the same; \
         lease reads without the last term; follower reads 2 × client delay). Per client DC, \
         the median over its successful operations, with the leader where it was when each \
         started. The bound is the network's share only: the ratio shows what batching, \
         queueing, disk and CPU add.",
    );
    for (c, m) in models {
        one(doc, c, m);
    }
}

fn ratio(r: Option<f64>) -> String {
    r.map_or("—".to_string(), |r| format!("{r:.2}×"))
}

fn ms_opt(us: Option<u64>) -> String {
    us.map_or("—".to_string(), ms)
}

fn one(doc: &mut Doc, c: &Column, m: &RaftModel) {
    doc.heading(2, c.label.clone());
    let origin = c.analysis.summary.window_start_us;
    let at = |t: u64| format!("{:.1} s", (t as f64 - origin as f64) / 1e6);
    let leaders: Vec<String> = m
        .leaders
        .iter()
        .map(|s| {
            let why = match s.cause {
                LeaderCause::Start => "first election",
                LeaderCause::Transfer => "transferred there (leader key)",
                LeaderCause::Fault => "elected after a fault",
                LeaderCause::Election => "elected (no fault open)",
            };
            let until = s.end_us.map_or("the end".to_string(), &at);
            format!(
                "{} ({}), term {}: from {} to {}, {why}",
                s.leader,
                s.dc,
                s.term,
                at(s.start_us),
                until
            )
        })
        .collect();
    if leaders.is_empty() {
        doc.para("No leader was recorded.");
    } else {
        doc.para("Where the leader was (times from the start of the measured window):");
        doc.push(Block::List(leaders));
    }
    let best = m.best_leader.as_deref().unwrap_or("—");
    let rows = m
        .dcs
        .iter()
        .map(|d| {
            vec![
                d.dc.clone(),
                ms_opt(d.write_bound_us),
                ms_opt(d.write_p50_us),
                ms_opt(d.write_p99_us),
                ratio(d.write_ratio),
                ms_opt(d.read_bound_us),
                ms_opt(d.read_p50_us),
                ms_opt(d.read_p99_us),
                ratio(d.read_ratio),
                ms_opt(d.best_write_bound_us),
                ms_opt(d.best_read_bound_us),
            ]
        })
        .collect();
    doc.push(Block::Table {
        header: [
            "client DC",
            "write bound",
            "write p50",
            "write p99",
            "p50 / bound",
            "read bound",
            "read p50",
            "read p99",
            "p50 / bound",
            &format!("write bound, leader {best}"),
            &format!("read bound, leader {best}"),
        ]
        .map(String::from)
        .to_vec(),
        rows,
    });
    for f in &m.failovers {
        doc.para(format!(
            "The {} at {} ({}) cost the leader {}; {} took over. The first successful write \
             came {} after the fault; the configuration implies {} (between {} and {}): {}.",
            f.kind,
            at(f.start_us),
            f.detail,
            f.old_leader,
            f.new_leader,
            ms_opt(f.measured_us),
            ms(f.expected_us),
            ms(f.expected_min_us),
            ms(f.expected_max_us),
            f.formula
        ));
    }
}

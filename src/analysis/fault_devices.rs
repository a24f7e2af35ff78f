//! Each fault as the people of the scenario lived it: per device, how many operations were
//! invoked while the fault lasted and how many succeeded, and which client DC fared worst.
//!
//! Read from the fault windows of `availability` (in seconds of the measured window) and
//! the per-operation [`Points`], one entry per fault in the same order as
//! `availability.faults`.
//!
//! Deliberately left out: staleness per device during a fault (`availability` has it as
//! `stale_by_device`) and recovery times (also `availability`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::availability::FaultReport;
use super::points::Points;
use crate::history::{Device, Outcome};

/// Devices in the order reports talk about them.
pub const DEVICES: [Device; 3] = [Device::Phone, Device::Laptop, Device::Friend];

/// Operations of one device during a fault.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DeviceOps {
    pub ops: u64,
    pub ok: u64,
    /// `ok / ops`, not rounded (`ops` is never 0 here).
    pub ok_fraction: f64,
}

/// The client DC with the smallest success share during a fault.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorstDc {
    pub dc: String,
    pub ok_fraction: f64,
}

/// One fault, per device and worst DC.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaultDevices {
    /// Index of the fault in the experiment's `[[faults]]` (as in `availability.faults`).
    pub fault: usize,
    /// Per device (`phone`, `laptop`, `friend`) with operations invoked during the fault.
    pub by_device: BTreeMap<String, DeviceOps>,
    /// Among the client DCs with operations during the fault (`None`: none had any).
    pub worst_dc: Option<WorstDc>,
}

/// One [`FaultDevices`] per fault of `faults`, in order.
pub fn analyse(faults: &[FaultReport], points: &Points) -> Vec<FaultDevices> {
    faults.iter().map(|f| fault(f, points)).collect()
}

fn fault(f: &FaultReport, points: &Points) -> FaultDevices {
    let from = (f.start_s * 1e6) as i64;
    let to = f.end_s.map_or(i64::MAX, |e| (e * 1e6) as i64);
    let mut by_device = BTreeMap::new();
    for d in DEVICES {
        let (ops, ok) = points
            .ops
            .iter()
            .filter(|p| p.device == d && p.t_us >= from && p.t_us < to)
            .fold((0, 0), |(n, ok), p| {
                (n + 1, ok + u64::from(p.outcome == Outcome::Ok))
            });
        if ops > 0 {
            by_device.insert(
                d.as_str().to_string(),
                DeviceOps {
                    ops,
                    ok,
                    ok_fraction: ok as f64 / ops as f64,
                },
            );
        }
    }
    let worst_dc = f
        .by_dc
        .iter()
        .filter_map(|(dc, d)| d.ok_fraction.map(|x| (x, dc)))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(ok_fraction, dc)| WorstDc {
            dc: dc.clone(),
            ok_fraction,
        });
    FaultDevices {
        fault: f.fault,
        by_device,
        worst_dc,
    }
}

//! Traffic counters per link, summed per endpoint on demand.
//!
//! Counters are relaxed atomics bumped on the send and receive paths; a snapshot is a plain
//! [`LinkStats`] value. "Sent" counts what an endpoint handed to the link layer, whether or
//! not it arrived; the drop counters say why the rest did not.
//!
//! Deliberately left out: time series (the runner samples snapshots when it needs them).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use serde::Serialize;

use super::EndpointId;

#[derive(Debug, Default)]
pub(crate) struct LinkCounters {
    pub sent: AtomicU64,
    pub sent_bytes: AtomicU64,
    pub delivered: AtomicU64,
    pub delivered_bytes: AtomicU64,
    pub dropped_partition: AtomicU64,
    pub dropped_loss: AtomicU64,
    pub dropped_unreachable: AtomicU64,
    pub dropped_lab: AtomicU64,
}

impl LinkCounters {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    pub fn snapshot(&self, from: EndpointId, to: EndpointId) -> LinkStats {
        LinkStats {
            from,
            to,
            sent: self.sent.load(Relaxed),
            sent_bytes: self.sent_bytes.load(Relaxed),
            delivered: self.delivered.load(Relaxed),
            delivered_bytes: self.delivered_bytes.load(Relaxed),
            dropped_partition: self.dropped_partition.load(Relaxed),
            dropped_loss: self.dropped_loss.load(Relaxed),
            dropped_unreachable: self.dropped_unreachable.load(Relaxed),
            dropped_lab: self.dropped_lab.load(Relaxed),
        }
    }
}

/// Traffic on one directed link. Bytes are payload bytes (frame headers excluded).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LinkStats {
    pub from: EndpointId,
    pub to: EndpointId,
    pub sent: u64,
    pub sent_bytes: u64,
    pub delivered: u64,
    pub delivered_bytes: u64,
    pub dropped_partition: u64,
    pub dropped_loss: u64,
    /// Dropped because the destination was not listening (crashed) or the connection broke.
    pub dropped_unreachable: u64,
    /// Dropped because the lab itself failed (a [`super::LabFault`]): not the simulated
    /// network's doing.
    pub dropped_lab: u64,
}

/// Traffic of one endpoint, summed over its links.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EndpointStats {
    pub endpoint: EndpointId,
    pub sent: u64,
    pub sent_bytes: u64,
    pub received: u64,
    pub received_bytes: u64,
    pub dropped: u64,
}

/// Sums link counters per endpoint.
pub fn per_endpoint(links: &[LinkStats], endpoints: usize) -> Vec<EndpointStats> {
    let mut out: Vec<EndpointStats> = (0..endpoints)
        .map(|i| EndpointStats {
            endpoint: EndpointId(i as u32),
            ..Default::default()
        })
        .collect();
    for l in links {
        if let Some(s) = out.get_mut(l.from.0 as usize) {
            s.sent += l.sent;
            s.sent_bytes += l.sent_bytes;
            s.dropped +=
                l.dropped_partition + l.dropped_loss + l.dropped_unreachable + l.dropped_lab;
        }
        if let Some(r) = out.get_mut(l.to.0 as usize) {
            r.received += l.delivered;
            r.received_bytes += l.delivered_bytes;
        }
    }
    out
}

//! What the consistency cost in traffic: messages and bytes per operation, per node, from
//! the variant's `net.json`.
//!
//! `net.json` counts every message an endpoint handed to a link (`sent`, whether or not it
//! arrived) and what arrived (`delivered`), per directed link, for the whole variant run:
//! warm-up, measured window and cool-down. Per-operation figures divide those totals by the
//! number of recorded operations, so background traffic (heartbeats, anti-entropy) is
//! charged to the workload, as it would be in production.
//!
//! A link's `from`/`to` may appear twice in a record (a name and an endpoint number); the
//! name wins, and a bare number is resolved through the experiment's node list.
//!
//! Deliberately left out: traffic over time (the counters are totals) and frame headers
//! (payload bytes only, as counted).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::staleness::round6;

/// `net.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct NetReport {
    pub links: Vec<NetLink>,
}

/// One directed link's counters.
#[derive(Debug, Clone, Default)]
pub struct NetLink {
    from_name: Option<String>,
    from_id: Option<u64>,
    to_name: Option<String>,
    to_id: Option<u64>,
    /// `node-node`, `client-node` or `node-client`.
    pub kind: String,
    pub sent: u64,
    pub sent_bytes: u64,
    pub delivered: u64,
    pub delivered_bytes: u64,
    /// Dropped for any reason (partition, loss, unreachable).
    pub dropped: u64,
}

impl NetLink {
    /// A link with named ends (for tests and tools).
    pub fn named(from: &str, to: &str, kind: &str, sent: u64, sent_bytes: u64) -> NetLink {
        NetLink {
            from_name: Some(from.to_string()),
            to_name: Some(to.to_string()),
            kind: kind.to_string(),
            sent,
            sent_bytes,
            delivered: sent,
            delivered_bytes: sent_bytes,
            ..NetLink::default()
        }
    }

    fn end(name: &Option<String>, id: Option<u64>, nodes: &[String]) -> String {
        match (name, id) {
            (Some(n), _) => n.clone(),
            (None, Some(i)) => nodes
                .get(i as usize)
                .cloned()
                .unwrap_or_else(|| format!("endpoint-{i}")),
            (None, None) => "?".to_string(),
        }
    }
}

impl<'de> Deserialize<'de> for NetLink {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct LinkVisitor;

        #[derive(Deserialize)]
        #[serde(untagged)]
        enum End {
            Name(String),
            Id(u64),
        }

        impl<'de> Visitor<'de> for LinkVisitor {
            type Value = NetLink;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a link of net.json")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NetLink, A::Error> {
                let mut l = NetLink::default();
                let mut kind = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "from" | "to" => {
                            let (name, id) = if key == "from" {
                                (&mut l.from_name, &mut l.from_id)
                            } else {
                                (&mut l.to_name, &mut l.to_id)
                            };
                            match map.next_value::<End>()? {
                                End::Name(n) => *name = name.take().or(Some(n)),
                                End::Id(i) => *id = Some(i),
                            }
                        }
                        "kind" => kind = Some(map.next_value::<String>()?),
                        "sent" => l.sent = map.next_value()?,
                        "sent_bytes" => l.sent_bytes = map.next_value()?,
                        "delivered" => l.delivered = map.next_value()?,
                        "delivered_bytes" => l.delivered_bytes = map.next_value()?,
                        k if k.starts_with("dropped") => l.dropped += map.next_value::<u64>()?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                l.kind = kind.ok_or_else(|| de::Error::missing_field("kind"))?;
                Ok(l)
            }
        }

        d.deserialize_map(LinkVisitor)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Cost {
    pub operations: u64,
    /// Every message sent (node-node, client-node, node-client).
    pub messages: u64,
    pub bytes: u64,
    pub node_node_messages: u64,
    pub node_node_bytes: u64,
    pub dropped_messages: u64,
    pub messages_per_op: Option<f64>,
    pub bytes_per_op: Option<f64>,
    pub node_node_messages_per_op: Option<f64>,
    pub node_node_bytes_per_op: Option<f64>,
    pub per_node: BTreeMap<String, NodeCost>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct NodeCost {
    /// To other nodes.
    pub node_messages_sent: u64,
    pub node_bytes_sent: u64,
    /// From other nodes (delivered).
    pub node_messages_received: u64,
    pub node_bytes_received: u64,
    /// Client requests delivered to this node.
    pub client_requests: u64,
    /// Replies this node sent to clients.
    pub client_replies: u64,
    /// `node_messages_sent` per operation of the run.
    pub node_messages_sent_per_op: Option<f64>,
}

pub fn analyse(net: &NetReport, operations: u64, nodes: &[String]) -> Cost {
    let per_op = |x: u64| (operations > 0).then(|| round6(x as f64 / operations as f64));
    let mut c = Cost {
        operations,
        messages: 0,
        bytes: 0,
        node_node_messages: 0,
        node_node_bytes: 0,
        dropped_messages: 0,
        messages_per_op: None,
        bytes_per_op: None,
        node_node_messages_per_op: None,
        node_node_bytes_per_op: None,
        per_node: nodes
            .iter()
            .map(|n| (n.clone(), NodeCost::default()))
            .collect(),
    };
    for l in &net.links {
        let from = NetLink::end(&l.from_name, l.from_id, nodes);
        let to = NetLink::end(&l.to_name, l.to_id, nodes);
        c.messages += l.sent;
        c.bytes += l.sent_bytes;
        c.dropped_messages += l.dropped;
        match l.kind.as_str() {
            "node-node" => {
                c.node_node_messages += l.sent;
                c.node_node_bytes += l.sent_bytes;
                let s = c.per_node.entry(from).or_default();
                s.node_messages_sent += l.sent;
                s.node_bytes_sent += l.sent_bytes;
                let r = c.per_node.entry(to).or_default();
                r.node_messages_received += l.delivered;
                r.node_bytes_received += l.delivered_bytes;
            }
            "client-node" => c.per_node.entry(to).or_default().client_requests += l.delivered,
            "node-client" => c.per_node.entry(from).or_default().client_replies += l.sent,
            _ => {}
        }
    }
    for n in c.per_node.values_mut() {
        n.node_messages_sent_per_op = per_op(n.node_messages_sent);
    }
    c.messages_per_op = per_op(c.messages);
    c.bytes_per_op = per_op(c.bytes);
    c.node_node_messages_per_op = per_op(c.node_node_messages);
    c.node_node_bytes_per_op = per_op(c.node_node_bytes);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_from_and_to_keys_keep_the_names() {
        let json = r#"{"links":[
            {"from":"eu-1","to":"us-1","kind":"node-node","from":0,"to":3,
             "sent":10,"sent_bytes":100,"delivered":8,"delivered_bytes":80,
             "dropped_partition":2,"dropped_loss":0,"dropped_unreachable":0},
            {"from":7,"to":0,"kind":"client-node","sent":5,"sent_bytes":50,
             "delivered":5,"delivered_bytes":50}
        ]}"#;
        let net: NetReport = serde_json::from_str(json).unwrap();
        let nodes = vec!["eu-1".to_string(), "eu-2".to_string()];
        let c = analyse(&net, 5, &nodes);
        assert_eq!(c.messages, 15);
        assert_eq!(c.node_node_messages, 10);
        assert_eq!(c.dropped_messages, 2);
        assert_eq!(c.messages_per_op, Some(3.0));
        assert_eq!(c.per_node["eu-1"].node_messages_sent, 10);
        assert_eq!(c.per_node["eu-1"].client_requests, 5);
        assert_eq!(c.per_node["us-1"].node_messages_received, 8);
    }
}

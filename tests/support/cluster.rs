//! A cluster of any kind started on a fresh simulated network from an experiment text, with
//! one client per DC, for the cluster integration tests. It leaves out the workload, the
//! nemesis and the recording of a run (`caplab::record` does those; see `binary`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use caplab::cluster::{ClientOk, ClientOp, Cluster, ClusterContext, Wire};
use caplab::experiment::{parse, Experiment, Overrides};
use caplab::history::{Event, JsonlWriter, RunClock};
use caplab::net::{EndpointId, Network, Role};
use caplab::runner::client::{CallResult, Client};
use caplab::runner::net_config;

use super::{edit, fixture};

pub struct Harness<C: Cluster> {
    pub exp: Arc<Experiment>,
    pub net: Network<Wire<C::Peer>>,
    pub cluster: C,
    pub nodes: Vec<EndpointId>,
    /// One client per DC, indexed by DC.
    pub clients: Vec<Client<C::Peer>>,
    pub events: Option<JsonlWriter<Event>>,
    pub dir: tempfile::TempDir,
    pub clock: RunClock,
}

pub fn experiment(toml: &str) -> Experiment {
    match parse(toml, "test.toml", &Overrides::default()) {
        Ok(l) => l.experiment,
        Err(e) => panic!("{e}"),
    }
}

impl<C: Cluster> Harness<C> {
    pub async fn start(toml: &str) -> Self {
        let exp = Arc::new(experiment(toml));
        let dir = tempfile::tempdir().unwrap();
        let events = JsonlWriter::<Event>::create(&dir.path().join("events.jsonl")).unwrap();
        let clock = RunClock::start();
        let net: Network<Wire<C::Peer>> = Network::new(net_config(&exp, exp.seed)).unwrap();
        let nodes: Vec<EndpointId> = exp
            .topology
            .nodes
            .iter()
            .map(|n| net.register(n.name.clone(), n.dc, Role::Node))
            .collect();
        let mut clients = Vec::new();
        for (i, dc) in exp.topology.dcs.iter().enumerate() {
            clients.push(
                Client::connect(&net, &format!("client@{}", dc.name), i)
                    .await
                    .unwrap(),
            );
        }
        let data_dir = dir.path().join("data");
        std::fs::create_dir_all(&data_dir).unwrap();
        let ctx = ClusterContext {
            experiment: exp.clone(),
            variant: exp.variants[0].clone(),
            net: net.clone(),
            node_ids: nodes.clone(),
            clock,
            events: events.sink(),
            data_dir,
            seed: exp.seed,
        };
        let cluster = C::start(ctx).await.unwrap();
        cluster.ready(Duration::from_secs(20)).await.unwrap();
        Harness {
            exp,
            net,
            cluster,
            nodes,
            clients,
            events: Some(events),
            dir,
            clock,
        }
    }

    pub fn node(&self, name: &str) -> usize {
        self.exp
            .topology
            .node_index(name)
            .unwrap_or_else(|| panic!("no node {name}"))
    }

    pub fn dc(&self, name: &str) -> usize {
        self.exp.topology.dc_index(name).unwrap()
    }

    /// The client of the node's own DC.
    fn client_for(&self, node: usize) -> &Client<C::Peer> {
        &self.clients[self.exp.topology.nodes[node].dc]
    }

    pub async fn write(&self, node: usize, key: &str, value: &str) -> CallResult {
        let op = ClientOp::Write {
            key: key.into(),
            value: value.into(),
            picture: bytes::Bytes::from(vec![1u8; 64]),
        };
        self.client_for(node)
            .call(self.nodes[node], op, Duration::from_secs(2))
            .await
    }

    pub async fn read(&self, node: usize, key: &str) -> CallResult {
        let op = ClientOp::Read {
            key: key.into(),
            after: None,
        };
        self.client_for(node)
            .call(self.nodes[node], op, Duration::from_secs(2))
            .await
    }

    /// The value and version `node` returns for `key` (panics unless the read succeeds).
    pub async fn value(&self, node: usize, key: &str) -> (Option<String>, Option<Vec<u64>>) {
        match self.read(node, key).await {
            CallResult::Ok(ClientOk::Read { value, version, .. }) => (value, version),
            other => panic!("read of {key} at node {node} failed: {other:?}"),
        }
    }

    /// Waits until every listed node returns the same value for every key.
    pub async fn converged(&self, nodes: &[usize], keys: &[String], within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let mut same = true;
            for key in keys {
                let first = self.value(nodes[0], key).await;
                for n in &nodes[1..] {
                    if self.value(*n, key).await != first {
                        same = false;
                    }
                }
            }
            if same {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "replicas did not converge within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn stop(mut self) -> Vec<Event> {
        self.cluster.shutdown().await;
        self.net.shutdown().await;
        let path = self.dir.path().join("events.jsonl");
        if let Some(w) = self.events.take() {
            w.finish().unwrap();
        }
        super::lines(&path)
    }
}

/// The `three-dcs` fixture named `name`, with `per_dc` nodes in asia, eu and us, `link`
/// one-way delay between DCs, and `variant` (the keys of one `[[variants]]` table).
pub fn three_dcs(name: &str, per_dc: [usize; 3], link: &str, variant: &str) -> String {
    let mut text = edit(
        &fixture("three-dcs"),
        "name = \"three-dcs\"",
        &format!("name = \"{name}\""),
    );
    for (dc, n) in ["asia", "eu", "us"].iter().zip(per_dc) {
        let dc = format!("[topology.dcs.{dc}]\nnodes = ");
        text = edit(&text, &format!("{dc}1\n"), &format!("{dc}{n}\n"));
    }
    let text = edit(
        &text,
        "value = \"1ms\" }",
        &format!("value = \"{link}\" }}"),
    );
    format!("{text}[[variants]]\n{variant}\n")
}

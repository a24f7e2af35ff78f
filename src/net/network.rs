//! The network handle, endpoints, and the tasks that move frames over TCP or in memory.
//!
//! See the module docs of [`crate::net`] for the data path. This file owns the registry of
//! endpoints and links, the run-time rules (cuts, pauses, delay and loss overrides), and the
//! connection tasks: on TCP, one writer per directed link, one accept loop per listening
//! endpoint, one reader per accepted connection; in memory, one reader per listening
//! endpoint, fed directly by the links as the delay line releases their frames.
//!
//! Deliberately left out: retries. A message to an endpoint that does not listen (crashed)
//! is dropped and counted as unreachable, as a real network would lose it.

use std::collections::{BTreeMap, HashMap};
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use parking_lot::{Mutex, RwLock};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::codec::{FramedRead, FramedWrite};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::delay::DelayModel;
use super::delay_line::{DelayLine, Wake};
use super::frame::{self, CodecError, Hello};
use super::inbox::{self, Inbox, InboxSender};
use super::link::{Admit, DropReason, LinkState};
use super::stats::{self, EndpointStats, LinkCounters, LinkStats};
use super::DcIdx;
use super::EndpointId;

/// Frames written per flush at most.
const WRITE_BATCH: usize = 256;
/// How long a writer waits for a TCP connection before declaring the peer unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Failures of the network harness itself (not of the simulated network: lost messages are
/// counted, not errors).
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("binding a listener on 127.0.0.1 for {name}: {source}")]
    Bind {
        name: String,
        source: std::io::Error,
    },
    #[error("starting the delay-line thread: {0}")]
    DelayLine(std::io::Error),
    #[error("the in-memory transport needs a current-thread runtime (the sim engine's)")]
    MemoryNeedsCurrentThread,
    #[error("the network must be created inside a tokio runtime")]
    NoRuntime,
    #[error("unknown {0}")]
    UnknownEndpoint(EndpointId),
    #[error(transparent)]
    Codec(#[from] CodecError),
}

/// A failure of the lab's own machinery inside the link layer: a socket, bind, accept or
/// connect that failed for a reason other than the destination being down (too many open
/// files, no ports left), or a frame that could not be decoded. The messages it cost are
/// counted as `dropped_lab`, never as lost by the simulated network, and the network hands
/// each such failure to the hook set with [`Network::on_lab_fault`] (the runner records it
/// as a `lab_error` event, which makes the run invalid).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabFault {
    /// Which step failed: `net.bind`, `net.accept`, `net.connect` or `net.frame`.
    pub source: &'static str,
    pub detail: String,
}

type LabHook = Arc<dyn Fn(LabFault) + Send + Sync>;

/// Whether an endpoint is a cluster node or a client (it decides which delay applies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Node,
    Client,
}

/// Shaping of one ordered DC pair: its one-way delay distribution and loss rate.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkShape {
    pub delay: DelayModel,
    /// Probability in `[0, 1]` that a message is dropped.
    pub loss: f64,
}

/// Static shaping configuration: every DC pair's link and the seed for loss and delay dice.
/// (The runner builds it from an experiment's topology; the network knows nothing of
/// experiments.)
#[derive(Debug, Clone)]
pub struct NetConfig {
    pub client_delay: DelayModel,
    /// `links[from_dc][to_dc]`.
    pub links: Vec<Vec<LinkShape>>,
    /// Per-link FIFO delivery (true, as TCP would) or independent delays (false).
    pub fifo: bool,
    pub seed: u64,
    pub transport: Transport,
}

/// How frames travel once a link releases them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Transport {
    /// Real TCP connections on 127.0.0.1, on the OS's clock (the real engine).
    #[default]
    Tcp,
    /// Straight into the destination's inbox, on tokio's clock (the sim engine: a
    /// current-thread runtime with its clock paused). Same shaping, counters and rules;
    /// no sockets, no threads.
    Memory,
}

impl Transport {
    /// The time now on this transport's clock.
    fn now(self) -> Instant {
        match self {
            Transport::Tcp => Instant::now(),
            Transport::Memory => tokio::time::Instant::now().into_std(),
        }
    }
}

impl NetConfig {
    /// Every DC pair with zero delay and no loss (benchmarks and tests).
    pub fn zero(dcs: usize, seed: u64) -> Self {
        let shape = LinkShape {
            delay: DelayModel::zero(),
            loss: 0.0,
        };
        NetConfig {
            client_delay: DelayModel::zero(),
            links: vec![vec![shape; dcs]; dcs],
            fifo: true,
            seed,
            transport: Transport::Tcp,
        }
    }
}

/// A message received by an endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery<M> {
    pub from: EndpointId,
    pub msg: M,
}

struct EndpointEntry {
    name: String,
    dc: DcIdx,
    role: Role,
    /// Where the endpoint listens on TCP; `None` while it is closed (crashed).
    addr: Option<SocketAddr>,
    /// Its inbox on the in-memory transport; `None` while it is closed (crashed).
    mem: Option<mpsc::UnboundedSender<(EndpointId, Bytes)>>,
}

/// Run-time rules; links are recomputed from them whenever they change.
///
/// Every rule is counted per source, so that overlapping faults compose: a link cut by two
/// faults stays cut until both have lifted their cut, and a node paused twice stays paused
/// until both resumed it. Delay and loss overrides of a DC pair form a stack: the most
/// recent override in force wins, and lifting it restores the one below it (or the
/// topology's value when none is left), whatever order they are lifted in.
#[derive(Default)]
struct Rules {
    cuts: Counted<(EndpointId, EndpointId)>,
    dc_cuts: Counted<(DcIdx, DcIdx)>,
    paused: Counted<EndpointId>,
    delay: Stack<DelayModel>,
    loss: Stack<f64>,
    next_override: u64,
}

/// How many sources currently apply each key.
struct Counted<K>(HashMap<K, u32>);

impl<K> Default for Counted<K> {
    fn default() -> Self {
        Counted(HashMap::new())
    }
}

impl<K: std::hash::Hash + Eq> Counted<K> {
    fn add(&mut self, k: K) {
        *self.0.entry(k).or_insert(0) += 1;
    }

    /// Removes one source of `k`; returns false if none applied it.
    fn remove(&mut self, k: &K) -> bool {
        match self.0.get_mut(k) {
            Some(n) if *n > 1 => {
                *n -= 1;
                true
            }
            Some(_) => {
                self.0.remove(k);
                true
            }
            None => false,
        }
    }

    fn contains(&self, k: &K) -> bool {
        self.0.contains_key(k)
    }
}

/// Overrides of a DC pair's value, oldest first.
struct Stack<V>(HashMap<(DcIdx, DcIdx), Vec<(u64, V)>>);

impl<V> Default for Stack<V> {
    fn default() -> Self {
        Stack(HashMap::new())
    }
}

impl<V> Stack<V> {
    fn push(&mut self, pair: (DcIdx, DcIdx), id: u64, v: V) {
        self.0.entry(pair).or_default().push((id, v));
    }

    /// Removes override `id` wherever it is in its pair's stack; returns whether it was there.
    fn lift(&mut self, id: u64) -> bool {
        let mut found = false;
        self.0.retain(|_, stack| {
            let before = stack.len();
            stack.retain(|(i, _)| *i != id);
            found |= stack.len() != before;
            !stack.is_empty()
        });
        found
    }

    fn current(&self, pair: &(DcIdx, DcIdx)) -> Option<&V> {
        self.0.get(pair).and_then(|s| s.last()).map(|(_, v)| v)
    }
}

/// Names one delay or loss override, to lift exactly it with [`Network::lift_override`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OverrideId(u64);

/// One directed link: its shaping state, its connection task's queue and its counters.
struct Link {
    from: EndpointId,
    to: EndpointId,
    state: Mutex<LinkState<Bytes>>,
    out: LinkOut,
    counters: Arc<LinkCounters>,
}

/// Where a link's released frames go.
enum LinkOut {
    /// To the link's TCP writer task.
    Tcp(mpsc::UnboundedSender<Bytes>),
    /// Into the destination's in-memory inbox, looked up at release (it changes when the
    /// destination crashes and restarts). Weak: the network owns its links.
    Memory(std::sync::Weak<Inner>),
}

impl Link {
    fn put(&self, b: Bytes) {
        match &self.out {
            LinkOut::Tcp(tx) => {
                let _ = tx.send(b);
            }
            LinkOut::Memory(inner) => {
                let inbox = inner.upgrade().and_then(|inner| {
                    inner
                        .endpoints
                        .read()
                        .get(self.to.0 as usize)
                        .and_then(|e| e.mem.clone())
                });
                let delivered = inbox.is_some_and(|tx| tx.send((self.from, b)).is_ok());
                if !delivered {
                    LinkCounters::add(&self.counters.dropped_unreachable, 1);
                }
            }
        }
    }
}

impl Wake for Link {
    fn wake(&self, now: Instant, woken_for: Instant) -> Option<Instant> {
        let mut out = Vec::new();
        // The send happens under the state lock so that a concurrent `admit` cannot slip a
        // later message onto the connection ahead of these.
        let mut st = self.state.lock();
        let next = st.release(now, woken_for, &mut out);
        for b in out {
            self.put(b);
        }
        next
    }
}

struct Inner {
    config: NetConfig,
    runtime: tokio::runtime::Handle,
    delay_line: DelayLine,
    delay_thread: Mutex<Option<LineHandle>>,
    endpoints: RwLock<Vec<EndpointEntry>>,
    /// Ordered, so that re-shaping every link (and so the order of wake-ups it schedules)
    /// is the same on every run.
    links: RwLock<BTreeMap<(EndpointId, EndpointId), Arc<Link>>>,
    /// Counters outlive links' reader lookups; kept by pair.
    rules: Mutex<Rules>,
    lab_hook: RwLock<Option<LabHook>>,
    lab_faults: AtomicU64,
    cancel: CancellationToken,
    tracker: TaskTracker,
}

enum LineHandle {
    Thread(JoinHandle<()>),
    Task(tokio::task::JoinHandle<()>),
}

/// A cheap-to-clone handle to the simulated network, generic over the message type `M`.
pub struct Network<M> {
    inner: Arc<Inner>,
    _msg: PhantomData<fn(M) -> M>,
}

impl<M> Clone for Network<M> {
    fn clone(&self) -> Self {
        Network {
            inner: self.inner.clone(),
            _msg: PhantomData,
        }
    }
}

/// Sends messages from one endpoint; cheap to clone, so several tasks of a node can send.
pub struct Sender<M> {
    from: EndpointId,
    inner: Arc<Inner>,
    _msg: PhantomData<fn(M) -> M>,
}

impl<M> Clone for Sender<M> {
    fn clone(&self) -> Self {
        Sender {
            from: self.from,
            inner: self.inner.clone(),
            _msg: PhantomData,
        }
    }
}

impl<M: Serialize> Sender<M> {
    pub fn id(&self) -> EndpointId {
        self.from
    }

    /// Hands `msg` to the link towards `to`. Returns once the message is queued; loss,
    /// partitions and crashed peers are not errors (they are counted).
    pub fn send(&self, to: EndpointId, msg: &M) -> Result<(), NetError> {
        let bytes = frame::encode(msg)?;
        self.inner.send_bytes(self.from, to, bytes)
    }
}

/// A listening endpoint: its sender and its inbox. Dropping it closes the listener and every
/// accepted connection, as a crashed process would.
pub struct Endpoint<M> {
    sender: Sender<M>,
    inbox: Inbox<M>,
    addr: SocketAddr,
    guard: ListenGuard,
}

/// Closes an endpoint's listener and its accepted connections when dropped, and marks the
/// endpoint as not listening so writers count messages to it as unreachable.
pub struct ListenGuard {
    id: EndpointId,
    inner: Arc<Inner>,
    token: CancellationToken,
}

impl Drop for ListenGuard {
    fn drop(&mut self) {
        self.token.cancel();
        if let Some(e) = self.inner.endpoints.write().get_mut(self.id.0 as usize) {
            e.addr = None;
            e.mem = None;
        }
    }
}

impl<M: Serialize> Endpoint<M> {
    pub fn id(&self) -> EndpointId {
        self.sender.from
    }

    /// Where the endpoint listens on TCP (`0.0.0.0:0` on the in-memory transport).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn sender(&self) -> Sender<M> {
        self.sender.clone()
    }

    pub fn send(&self, to: EndpointId, msg: &M) -> Result<(), NetError> {
        self.sender.send(to, msg)
    }

    /// The next message (a node's before a client's, see [`Inbox`]); `None` once the
    /// endpoint is closed or the network has shut down.
    pub async fn recv(&mut self) -> Option<Delivery<M>> {
        self.inbox.recv().await
    }

    /// How many client requests wait in the inbox (see [`Inbox::clients_waiting`]).
    pub fn clients_waiting(&self) -> usize {
        self.inbox.clients_waiting()
    }

    /// True when no received message is waiting in the inbox.
    pub fn inbox_is_empty(&self) -> bool {
        self.inbox.is_empty()
    }

    /// Splits the endpoint into its sender, its inbox and the guard that keeps it listening
    /// (for drivers that move the inbox into a task).
    pub fn split(self) -> (Sender<M>, Inbox<M>, ListenGuard) {
        (self.sender, self.inbox, self.guard)
    }
}

impl<M> Network<M>
where
    M: Serialize + DeserializeOwned + Send + 'static,
{
    /// Creates a network; must be called inside a tokio runtime (for the in-memory
    /// transport, a current-thread one).
    pub fn new(config: NetConfig) -> Result<Self, NetError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| NetError::NoRuntime)?;
        let (delay_line, handle) = match config.transport {
            Transport::Tcp => {
                let (line, h) = DelayLine::start().map_err(NetError::DelayLine)?;
                (line, LineHandle::Thread(h))
            }
            Transport::Memory => {
                if runtime.runtime_flavor() != tokio::runtime::RuntimeFlavor::CurrentThread {
                    return Err(NetError::MemoryNeedsCurrentThread);
                }
                let (line, h) = DelayLine::start_task(&runtime);
                (line, LineHandle::Task(h))
            }
        };
        Ok(Network {
            inner: Arc::new(Inner {
                config,
                runtime,
                delay_line,
                delay_thread: Mutex::new(Some(handle)),
                endpoints: RwLock::new(Vec::new()),
                links: RwLock::new(BTreeMap::new()),
                rules: Mutex::new(Rules::default()),
                lab_hook: RwLock::new(None),
                lab_faults: AtomicU64::new(0),
                cancel: CancellationToken::new(),
                tracker: TaskTracker::new(),
            }),
            _msg: PhantomData,
        })
    }

    /// Registers an endpoint (not yet listening); [`Network::listen`] opens it.
    pub fn register(&self, name: impl Into<String>, dc: DcIdx, role: Role) -> EndpointId {
        let mut eps = self.inner.endpoints.write();
        eps.push(EndpointEntry {
            name: name.into(),
            dc,
            role,
            addr: None,
            mem: None,
        });
        EndpointId((eps.len() - 1) as u32)
    }

    /// Registers an endpoint and opens it.
    pub async fn add_endpoint(
        &self,
        name: impl Into<String>,
        dc: DcIdx,
        role: Role,
    ) -> Result<Endpoint<M>, NetError> {
        let id = self.register(name, dc, role);
        self.listen(id).await
    }

    /// Opens (or re-opens, after a crash) an endpoint: on TCP on a fresh OS-picked port, in
    /// memory with a fresh inbox (frames sent to its previous life are lost with it).
    pub async fn listen(&self, id: EndpointId) -> Result<Endpoint<M>, NetError> {
        let name = self.name(id).ok_or(NetError::UnknownEndpoint(id))?;
        if self.inner.config.transport == Transport::Memory {
            return Ok(self.listen_in_memory(id));
        }
        let bound = match TcpListener::bind(("127.0.0.1", 0)).await {
            Ok(l) => l.local_addr().map(|a| (l, a)),
            Err(e) => Err(e),
        };
        let (listener, addr) = bound.map_err(|source| {
            self.inner.lab(
                "net.bind",
                format!("binding a listener for {name}: {source}"),
            );
            NetError::Bind { name, source }
        })?;
        let (tx, inbox) = inbox::inbox();
        let token = self.inner.cancel.child_token();
        self.inner.tracker.spawn_on(
            accept_loop::<M>(listener, id, tx, self.inner.clone(), token.clone()),
            &self.inner.runtime,
        );
        if let Some(e) = self.inner.endpoints.write().get_mut(id.0 as usize) {
            e.addr = Some(addr);
        }
        Ok(Endpoint {
            sender: self.sender(id),
            inbox,
            addr,
            guard: ListenGuard {
                id,
                inner: self.inner.clone(),
                token,
            },
        })
    }

    fn listen_in_memory(&self, id: EndpointId) -> Endpoint<M> {
        let (raw_tx, raw_rx) = mpsc::unbounded_channel();
        let (tx, inbox) = inbox::inbox();
        let token = self.inner.cancel.child_token();
        self.inner.tracker.spawn_on(
            memory_read_loop::<M>(raw_rx, id, tx, self.inner.clone(), token.clone()),
            &self.inner.runtime,
        );
        if let Some(e) = self.inner.endpoints.write().get_mut(id.0 as usize) {
            e.mem = Some(raw_tx);
        }
        Endpoint {
            sender: self.sender(id),
            inbox,
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            guard: ListenGuard {
                id,
                inner: self.inner.clone(),
                token,
            },
        }
    }

    /// A sender for `id` without its inbox.
    pub fn sender(&self, from: EndpointId) -> Sender<M> {
        Sender {
            from,
            inner: self.inner.clone(),
            _msg: PhantomData,
        }
    }
}

impl<M> Network<M> {
    pub fn name(&self, id: EndpointId) -> Option<String> {
        self.inner
            .endpoints
            .read()
            .get(id.0 as usize)
            .map(|e| e.name.clone())
    }

    pub fn endpoint_count(&self) -> usize {
        self.inner.endpoints.read().len()
    }

    /// Changes the rules and re-shapes every link accordingly.
    fn change<R>(&self, f: impl FnOnce(&mut Rules) -> R) -> R {
        let r = f(&mut self.inner.rules.lock());
        self.inner.apply_rules();
        r
    }

    /// Cuts the link from `from` to `to` (one way). Cuts are counted: the link stays cut
    /// until every `block` has been matched by an [`Network::unblock`].
    pub fn block(&self, from: EndpointId, to: EndpointId) {
        self.change(|r| r.cuts.add((from, to)));
    }

    /// Lifts one cut of the link from `from` to `to`.
    pub fn unblock(&self, from: EndpointId, to: EndpointId) {
        self.change(|r| r.cuts.remove(&(from, to)));
    }

    /// Cuts every link from DC `from` to DC `to` (one way), clients included; counted like
    /// [`Network::block`].
    pub fn block_dcs(&self, from: DcIdx, to: DcIdx) {
        self.change(|r| r.dc_cuts.add((from, to)));
    }

    /// Lifts one cut of the links from DC `from` to DC `to`.
    pub fn unblock_dcs(&self, from: DcIdx, to: DcIdx) {
        self.change(|r| r.dc_cuts.remove(&(from, to)));
    }

    /// Cuts DC `dc` off from every other DC, both ways, and returns the `(from, to)` DC pairs
    /// it cut (to lift them with [`Network::unblock_dcs`]).
    pub fn isolate_dc(&self, dc: DcIdx) -> Vec<(DcIdx, DcIdx)> {
        let dcs = self.inner.config.links.len();
        let pairs: Vec<(DcIdx, DcIdx)> = (0..dcs)
            .filter(|other| *other != dc)
            .flat_map(|other| [(dc, other), (other, dc)])
            .collect();
        self.change(|r| pairs.iter().for_each(|p| r.dc_cuts.add(*p)));
        pairs
    }

    /// True while the links from DC `from` to DC `to` are cut by at least one source.
    pub fn dcs_blocked(&self, from: DcIdx, to: DcIdx) -> bool {
        self.inner.rules.lock().dc_cuts.contains(&(from, to))
    }

    /// True while the link from `from` to `to` is cut endpoint to endpoint by at least one
    /// source (DC-level cuts are not counted here; see [`Network::dcs_blocked`]).
    pub fn blocked(&self, from: EndpointId, to: EndpointId) -> bool {
        self.inner.rules.lock().cuts.contains(&(from, to))
    }

    /// Removes every cut, whoever made it (for tests; faults lift their own cuts).
    pub fn heal(&self) {
        self.change(|r| {
            r.cuts = Counted::default();
            r.dc_cuts = Counted::default();
        });
    }

    /// Holds every message from and to `id` until [`Network::resume`]; counted like
    /// [`Network::block`].
    pub fn pause(&self, id: EndpointId) {
        self.change(|r| r.paused.add(id));
    }

    /// Lifts one pause of `id`.
    pub fn resume(&self, id: EndpointId) {
        self.change(|r| r.paused.remove(&id));
    }

    /// Overrides the delay of the links from DC `from` to DC `to` until the returned
    /// override is lifted. The most recent override in force wins.
    pub fn override_dc_delay(&self, from: DcIdx, to: DcIdx, delay: DelayModel) -> OverrideId {
        self.change(|r| {
            r.next_override += 1;
            r.delay.push((from, to), r.next_override, delay);
            OverrideId(r.next_override)
        })
    }

    /// Overrides the loss rate of the links from DC `from` to DC `to` until the returned
    /// override is lifted. The most recent override in force wins.
    pub fn override_dc_loss(&self, from: DcIdx, to: DcIdx, loss: f64) -> OverrideId {
        self.change(|r| {
            r.next_override += 1;
            r.loss.push((from, to), r.next_override, loss);
            OverrideId(r.next_override)
        })
    }

    /// The delay override in force on the links from DC `from` to DC `to`, if any.
    pub fn dc_delay_override(&self, from: DcIdx, to: DcIdx) -> Option<DelayModel> {
        self.inner.rules.lock().delay.current(&(from, to)).cloned()
    }

    /// The loss override in force on the links from DC `from` to DC `to`, if any.
    pub fn dc_loss_override(&self, from: DcIdx, to: DcIdx) -> Option<f64> {
        self.inner.rules.lock().loss.current(&(from, to)).copied()
    }

    /// Lifts one delay or loss override: the pair falls back to the most recent override
    /// still in force, else to the topology. Returns false if it was already lifted.
    pub fn lift_override(&self, id: OverrideId) -> bool {
        self.change(|r| r.delay.lift(id.0) | r.loss.lift(id.0))
    }

    /// Hands every [`LabFault`] from now on to `hook` (called from network tasks: keep it
    /// short and non-blocking).
    pub fn on_lab_fault(&self, hook: impl Fn(LabFault) + Send + Sync + 'static) {
        *self.inner.lab_hook.write() = Some(Arc::new(hook));
    }

    /// How many lab faults the network has met so far.
    pub fn lab_faults(&self) -> u64 {
        self.inner.lab_faults.load(Ordering::Relaxed)
    }

    /// Messages between `a` and `b` (both directions) lost to lab faults so far.
    pub fn lab_drops(&self, a: EndpointId, b: EndpointId) -> u64 {
        let links = self.inner.links.read();
        [(a, b), (b, a)]
            .iter()
            .filter_map(|k| links.get(k))
            .map(|l| l.counters.dropped_lab.load(Ordering::Relaxed))
            .sum()
    }

    /// Counters of every link used so far.
    pub fn link_stats(&self) -> Vec<LinkStats> {
        let mut v: Vec<LinkStats> = self
            .inner
            .links
            .read()
            .values()
            .map(|l| l.counters.snapshot(l.from, l.to))
            .collect();
        v.sort_by_key(|l| (l.from, l.to));
        v
    }

    /// Counters summed per endpoint, indexed by endpoint id.
    pub fn endpoint_stats(&self) -> Vec<EndpointStats> {
        stats::per_endpoint(&self.link_stats(), self.endpoint_count())
    }

    /// Stops every connection task and the delay line, and waits for them. Messages still
    /// queued are dropped.
    pub async fn shutdown(&self) {
        self.inner.cancel.cancel();
        self.inner.tracker.close();
        self.inner.tracker.wait().await;
        self.inner.stop_delay_line().await;
    }
}

impl Inner {
    fn lab(&self, source: &'static str, detail: String) {
        self.lab_faults.fetch_add(1, Ordering::Relaxed);
        let hook = self.lab_hook.read().clone();
        if let Some(h) = hook {
            h(LabFault { source, detail });
        }
    }

    /// The role `id` was registered with (a node, for an id never registered).
    fn role(&self, id: EndpointId) -> Role {
        self.endpoints
            .read()
            .get(id.0 as usize)
            .map_or(Role::Node, |e| e.role)
    }

    fn endpoint_name(&self, id: EndpointId) -> String {
        self.endpoints
            .read()
            .get(id.0 as usize)
            .map_or_else(|| id.to_string(), |e| e.name.clone())
    }

    async fn stop_delay_line(&self) {
        self.delay_line.stop();
        let handle = self.delay_thread.lock().take();
        match handle {
            // The line exits as soon as it reads the stop command.
            Some(LineHandle::Thread(h)) => {
                let _ = h.join();
            }
            Some(LineHandle::Task(h)) => {
                let _ = h.await;
            }
            None => {}
        }
    }

    /// The shaping and cut/pause state a link should have under the current rules.
    fn shaping(&self, rules: &Rules, from: EndpointId, to: EndpointId) -> Option<Shaping> {
        let eps = self.endpoints.read();
        let (f, t) = (eps.get(from.0 as usize)?, eps.get(to.0 as usize)?);
        let client_link = f.role == Role::Client || t.role == Role::Client;
        let (delay, loss, dc_rules_apply) = if client_link && f.dc == t.dc {
            (self.config.client_delay.clone(), 0.0, false)
        } else {
            let spec = self.config.links.get(f.dc)?.get(t.dc)?;
            let key = (f.dc, t.dc);
            (
                rules
                    .delay
                    .current(&key)
                    .cloned()
                    .unwrap_or_else(|| spec.delay.clone()),
                rules.loss.current(&key).copied().unwrap_or(spec.loss),
                true,
            )
        };
        let blocked = rules.cuts.contains(&(from, to))
            || (dc_rules_apply && rules.dc_cuts.contains(&(f.dc, t.dc)));
        let held = rules.paused.contains(&from) || rules.paused.contains(&to);
        Some(Shaping {
            delay,
            loss,
            blocked,
            held,
        })
    }

    fn apply_rules(&self) {
        let rules = self.rules.lock();
        for link in self.links.read().values() {
            let Some(s) = self.shaping(&rules, link.from, link.to) else {
                continue;
            };
            let mut st = link.state.lock();
            st.delay = s.delay;
            st.loss = s.loss;
            st.blocked = s.blocked;
            if st.is_held() != s.held {
                if let Some(wake) = st.set_held(s.held) {
                    self.delay_line.schedule(wake, link.clone());
                }
            }
        }
    }

    fn link(self: &Arc<Self>, from: EndpointId, to: EndpointId) -> Result<Arc<Link>, NetError> {
        if let Some(l) = self.links.read().get(&(from, to)) {
            return Ok(l.clone());
        }
        let rules = self.rules.lock();
        let mut links = self.links.write();
        if let Some(l) = links.get(&(from, to)) {
            return Ok(l.clone());
        }
        let s = self
            .shaping(&rules, from, to)
            .ok_or(NetError::UnknownEndpoint(
                if self.endpoints.read().get(from.0 as usize).is_none() {
                    from
                } else {
                    to
                },
            ))?;
        let seed = self.config.seed
            ^ (u64::from(from.0) << 32 | u64::from(to.0)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut state = LinkState::new(s.delay, s.loss, ChaCha8Rng::seed_from_u64(seed));
        state.fifo = self.config.fifo;
        state.blocked = s.blocked;
        state.set_held(s.held);
        let counters = Arc::new(LinkCounters::default());
        let out = match self.config.transport {
            Transport::Tcp => {
                let (tx, rx) = mpsc::unbounded_channel();
                self.tracker.spawn_on(
                    write_loop(
                        self.clone(),
                        from,
                        to,
                        rx,
                        counters.clone(),
                        self.cancel.clone(),
                    ),
                    &self.runtime,
                );
                LinkOut::Tcp(tx)
            }
            Transport::Memory => LinkOut::Memory(Arc::downgrade(self)),
        };
        let link = Arc::new(Link {
            from,
            to,
            state: Mutex::new(state),
            out,
            counters,
        });
        links.insert((from, to), link.clone());
        Ok(link)
    }

    fn send_bytes(
        self: &Arc<Self>,
        from: EndpointId,
        to: EndpointId,
        bytes: Bytes,
    ) -> Result<(), NetError> {
        let link = self.link(from, to)?;
        let c = &link.counters;
        LinkCounters::add(&c.sent, 1);
        LinkCounters::add(&c.sent_bytes, bytes.len() as u64);
        let mut st = link.state.lock();
        match st.admit(self.config.transport.now(), bytes) {
            Admit::SendNow(b) => link.put(b),
            Admit::Queued { wake_at: Some(at) } => {
                drop(st);
                self.delay_line.schedule(at, link.clone());
            }
            Admit::Queued { wake_at: None } => {}
            Admit::Dropped(DropReason::Partition) => LinkCounters::add(&c.dropped_partition, 1),
            Admit::Dropped(DropReason::Loss) => LinkCounters::add(&c.dropped_loss, 1),
        }
        Ok(())
    }

    fn addr(&self, id: EndpointId) -> Option<SocketAddr> {
        self.endpoints
            .read()
            .get(id.0 as usize)
            .and_then(|e| e.addr)
    }

    fn counters(&self, from: EndpointId, to: EndpointId) -> Option<Arc<LinkCounters>> {
        self.links
            .read()
            .get(&(from, to))
            .map(|l| l.counters.clone())
    }
}

struct Shaping {
    delay: DelayModel,
    loss: f64,
    blocked: bool,
    held: bool,
}

type Writer = FramedWrite<TcpStream, tokio_util::codec::LengthDelimitedCodec>;

/// Why a writer has no connection.
enum NoConnection {
    /// The destination is down or went away meanwhile (a crash): the simulated network
    /// loses the messages.
    Gone,
    /// The lab could not open a connection to a destination that listens.
    Lab(String),
}

async fn connect(
    inner: &Inner,
    addr: SocketAddr,
    from: EndpointId,
    to: EndpointId,
) -> Result<Writer, NoConnection> {
    use std::io::ErrorKind;
    let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e))
            if matches!(
                e.kind(),
                ErrorKind::ConnectionRefused
                    | ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
            ) =>
        {
            return Err(NoConnection::Gone)
        }
        // Anything else (too many open files, no ports, no buffers) is the lab's failure,
        // unless the destination stopped listening meanwhile.
        Ok(Err(e)) if inner.addr(to) == Some(addr) => {
            return Err(NoConnection::Lab(format!("connecting: {e}")))
        }
        Err(_) if inner.addr(to) == Some(addr) => {
            return Err(NoConnection::Lab(format!(
                "connecting: no connection within {CONNECT_TIMEOUT:?} to a listening endpoint"
            )))
        }
        Ok(Err(_)) | Err(_) => return Err(NoConnection::Gone),
    };
    stream
        .set_nodelay(true)
        .map_err(|e| NoConnection::Lab(format!("setting TCP_NODELAY: {e}")))?;
    let mut w = FramedWrite::new(stream, frame::codec());
    let hello = frame::encode(&Hello {
        from: from.0,
        to: to.0,
    })
    .map_err(|e| NoConnection::Lab(format!("encoding the hello frame: {e}")))?;
    w.send(hello).await.map_err(|_| NoConnection::Gone)?;
    Ok(w)
}

/// Moves one link's released frames onto its TCP connection, (re)connecting as needed.
async fn write_loop(
    inner: Arc<Inner>,
    from: EndpointId,
    to: EndpointId,
    mut rx: mpsc::UnboundedReceiver<Bytes>,
    counters: Arc<LinkCounters>,
    cancel: CancellationToken,
) {
    // The connection and the address it goes to. The registry knows where the destination
    // listens now: if it crashed (no address) or restarted elsewhere, the old connection is
    // dead and must not swallow messages meant for the new life.
    let mut conn: Option<(SocketAddr, Writer)> = None;
    let mut batch = Vec::with_capacity(WRITE_BATCH);
    loop {
        let n = tokio::select! {
            biased;
            _ = cancel.cancelled() => return,
            n = rx.recv_many(&mut batch, WRITE_BATCH) => n,
        };
        if n == 0 {
            return;
        }
        let current = inner.addr(to);
        if conn.as_ref().map(|(a, _)| Some(*a)) != Some(current) {
            conn = None;
        }
        let mut lab_failure = None;
        if conn.is_none() {
            if let Some(addr) = current {
                let c = tokio::select! {
                    biased;
                    _ = cancel.cancelled() => return,
                    c = connect(&inner, addr, from, to) => c,
                };
                match c {
                    Ok(w) => conn = Some((addr, w)),
                    Err(NoConnection::Gone) => {}
                    Err(NoConnection::Lab(e)) => lab_failure = Some(e),
                }
            }
        }
        let Some((_, w)) = conn.as_mut() else {
            let n = batch.len() as u64;
            batch.clear();
            match lab_failure {
                Some(e) => {
                    LinkCounters::add(&counters.dropped_lab, n);
                    inner.lab(
                        "net.connect",
                        format!(
                            "{} -> {}: {e} ({n} messages lost)",
                            inner.endpoint_name(from),
                            inner.endpoint_name(to)
                        ),
                    );
                }
                None => LinkCounters::add(&counters.dropped_unreachable, n),
            }
            continue;
        };
        // A failed write or flush means the peer is gone: everything of this batch that was
        // not yet confirmed written is counted as lost to an unreachable peer.
        let mut ok = true;
        let total = batch.len() as u64;
        for b in batch.drain(..) {
            if ok && w.feed(b).await.is_err() {
                ok = false;
            }
        }
        if !ok || SinkExt::<Bytes>::flush(w).await.is_err() {
            LinkCounters::add(&counters.dropped_unreachable, total);
            conn = None;
        }
    }
}

async fn accept_loop<M>(
    listener: TcpListener,
    me: EndpointId,
    inbox: InboxSender<M>,
    inner: Arc<Inner>,
    token: CancellationToken,
) where
    M: DeserializeOwned + Send + 'static,
{
    loop {
        let stream = tokio::select! {
            biased;
            _ = token.cancelled() => return,
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                // Accept errors (e.g. too many open files) are the lab's: recorded, and the
                // endpoint backs off briefly rather than dying.
                Err(e) => {
                    inner.lab(
                        "net.accept",
                        format!("{} accepting a connection: {e}", inner.endpoint_name(me)),
                    );
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        inner.tracker.spawn_on(
            read_loop::<M>(stream, me, inbox.clone(), inner.clone(), token.clone()),
            &inner.runtime,
        );
    }
}

/// Decodes the frames handed to an in-memory endpoint into its inbox (the in-memory
/// counterpart of [`read_loop`]; a full inbox holds the frames back, as a slow reader would
/// hold back TCP).
async fn memory_read_loop<M>(
    mut frames: mpsc::UnboundedReceiver<(EndpointId, Bytes)>,
    me: EndpointId,
    inbox: InboxSender<M>,
    inner: Arc<Inner>,
    token: CancellationToken,
) where
    M: DeserializeOwned + Send + 'static,
{
    loop {
        let (from, frame) = tokio::select! {
            biased;
            _ = token.cancelled() => return,
            f = frames.recv() => match f {
                Some(f) => f,
                None => return,
            },
        };
        let counters = inner.counters(from, me);
        match hand_over(
            &frame,
            from,
            me,
            counters.as_deref(),
            inbox.queue(inner.role(from)),
            &inner,
            &token,
        )
        .await
        {
            // A bad frame spoils only itself here: there is no byte stream to lose sync with.
            Handed::Delivered | Handed::Undecodable => {}
            Handed::Closed => return,
        }
    }
}

/// What became of one received frame.
enum Handed {
    Delivered,
    /// Recorded as a lab fault (`net.frame`).
    Undecodable,
    /// The endpoint closed (or its inbox did) while the frame waited for room.
    Closed,
}

/// The receiving step both transports share: decodes a frame from `from`, counts it as
/// delivered on its link and hands it to `me`'s inbox, waiting while the inbox is full.
async fn hand_over<M>(
    frame: &[u8],
    from: EndpointId,
    me: EndpointId,
    counters: Option<&LinkCounters>,
    inbox: &mpsc::Sender<Delivery<M>>,
    inner: &Inner,
    token: &CancellationToken,
) -> Handed
where
    M: DeserializeOwned + Send + 'static,
{
    let msg = match frame::decode::<M>(frame) {
        Ok(m) => m,
        Err(e) => {
            inner.lab(
                "net.frame",
                format!(
                    "{} -> {}: undecodable frame: {e}",
                    inner.endpoint_name(from),
                    inner.endpoint_name(me)
                ),
            );
            return Handed::Undecodable;
        }
    };
    if let Some(c) = counters {
        LinkCounters::add(&c.delivered, 1);
        LinkCounters::add(&c.delivered_bytes, frame.len() as u64);
    }
    let sent = tokio::select! {
        biased;
        _ = token.cancelled() => return Handed::Closed,
        r = inbox.send(Delivery { from, msg }) => r,
    };
    if sent.is_err() {
        return Handed::Closed;
    }
    Handed::Delivered
}

async fn read_loop<M>(
    stream: TcpStream,
    me: EndpointId,
    inbox: InboxSender<M>,
    inner: Arc<Inner>,
    token: CancellationToken,
) where
    M: DeserializeOwned + Send + 'static,
{
    let mut frames = FramedRead::new(stream, frame::codec());
    let hello = tokio::select! {
        biased;
        _ = token.cancelled() => return,
        f = frames.next() => match f {
            Some(Ok(b)) => match frame::decode::<Hello>(&b) {
                Ok(h) if h.to == me.0 => h,
                Ok(h) => {
                    inner.lab("net.frame", format!(
                        "{} received a connection meant for endpoint {}",
                        inner.endpoint_name(me), h.to
                    ));
                    return;
                }
                Err(e) => {
                    inner.lab("net.frame", format!(
                        "{} could not decode a hello frame: {e}", inner.endpoint_name(me)
                    ));
                    return;
                }
            },
            // The peer closed before saying hello (it crashed): nothing was lost.
            _ => return,
        },
    };
    let from = EndpointId(hello.from);
    let counters = inner.counters(from, me);
    // A connection carries one sender's frames: they all join that sender's queue.
    let queue = inbox.queue(inner.role(from));
    loop {
        let frame = tokio::select! {
            biased;
            _ = token.cancelled() => return,
            f = frames.next() => match f {
                Some(Ok(b)) => b,
                _ => return,
            },
        };
        match hand_over(&frame, from, me, counters.as_deref(), queue, &inner, &token).await {
            Handed::Delivered => {}
            // The byte stream can no longer be trusted: drop the connection.
            Handed::Undecodable | Handed::Closed => return,
        }
    }
}

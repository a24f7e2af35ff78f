//! The network handle, endpoints, and the tasks that move frames over TCP.
//!
//! See the module docs of [`crate::net`] for the data path. This file owns the registry of
//! endpoints and links, the run-time rules (cuts, pauses, delay and loss overrides), and the
//! connection tasks: one writer per directed link, one accept loop per listening endpoint,
//! one reader per accepted connection.
//!
//! Deliberately left out: retries. A message to an endpoint that does not listen (crashed)
//! is dropped and counted as unreachable, as a real network would lose it.

use std::collections::{HashMap, HashSet};
use std::marker::PhantomData;
use std::net::SocketAddr;
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
use super::link::{Admit, DropReason, LinkState};
use super::stats::{self, EndpointStats, LinkCounters, LinkStats};
use super::EndpointId;
use crate::experiment::{DcIdx, LinkSpec, Topology};

/// Inbox capacity per endpoint; a full inbox stops reading from TCP (back-pressure, as a
/// slow process would cause).
const INBOX_CAPACITY: usize = 8192;
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
    #[error("the network must be created inside a tokio runtime")]
    NoRuntime,
    #[error("unknown {0}")]
    UnknownEndpoint(EndpointId),
    #[error(transparent)]
    Codec(#[from] CodecError),
}

/// Whether an endpoint is a cluster node or a client (it decides which delay applies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Node,
    Client,
}

/// Static shaping configuration: the topology's links and the seed for loss and delay dice.
#[derive(Debug, Clone)]
pub struct NetConfig {
    pub client_delay: DelayModel,
    /// `links[from_dc][to_dc]`.
    pub links: Vec<Vec<LinkSpec>>,
    /// Per-link FIFO delivery (true, as TCP would) or independent delays (false).
    pub fifo: bool,
    pub seed: u64,
}

impl NetConfig {
    pub fn from_topology(topology: &Topology, seed: u64) -> Self {
        NetConfig {
            client_delay: topology.client_delay.clone(),
            links: topology.links.clone(),
            fifo: topology.fifo,
            seed,
        }
    }

    /// Every DC pair with zero delay and no loss (benchmarks and tests).
    pub fn zero(dcs: usize, seed: u64) -> Self {
        let spec = LinkSpec {
            delay: DelayModel::zero(),
            loss: 0.0,
        };
        NetConfig {
            client_delay: DelayModel::zero(),
            links: vec![vec![spec; dcs]; dcs],
            fifo: true,
            seed,
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
    /// Where the endpoint listens; `None` while it is closed (crashed).
    addr: Option<SocketAddr>,
}

/// Run-time rules; links are recomputed from them whenever they change.
#[derive(Default)]
struct Rules {
    blocked: HashSet<(EndpointId, EndpointId)>,
    blocked_dcs: HashSet<(DcIdx, DcIdx)>,
    paused: HashSet<EndpointId>,
    delay_override: HashMap<(DcIdx, DcIdx), DelayModel>,
    loss_override: HashMap<(DcIdx, DcIdx), f64>,
}

/// One directed link: its shaping state, its connection task's queue and its counters.
struct Link {
    from: EndpointId,
    to: EndpointId,
    state: Mutex<LinkState<Bytes>>,
    tx: mpsc::UnboundedSender<Bytes>,
    counters: Arc<LinkCounters>,
}

impl Wake for Link {
    fn wake(&self, now: Instant, woken_for: Instant) -> Option<Instant> {
        let mut out = Vec::new();
        // The send happens under the state lock so that a concurrent `admit` cannot slip a
        // later message onto the connection ahead of these.
        let mut st = self.state.lock();
        let next = st.release(now, woken_for, &mut out);
        for b in out {
            let _ = self.tx.send(b);
        }
        next
    }
}

struct Inner {
    config: NetConfig,
    runtime: tokio::runtime::Handle,
    delay_line: DelayLine,
    delay_thread: Mutex<Option<JoinHandle<()>>>,
    endpoints: RwLock<Vec<EndpointEntry>>,
    links: RwLock<HashMap<(EndpointId, EndpointId), Arc<Link>>>,
    /// Counters outlive links' reader lookups; kept by pair.
    rules: Mutex<Rules>,
    cancel: CancellationToken,
    tracker: TaskTracker,
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

    /// Sends an already encoded message (to encode a broadcast once).
    pub fn send_encoded(&self, to: EndpointId, bytes: Bytes) -> Result<(), NetError> {
        self.inner.send_bytes(self.from, to, bytes)
    }
}

/// A listening endpoint: its sender and its inbox. Dropping it closes the listener and every
/// accepted connection, as a crashed process would.
pub struct Endpoint<M> {
    sender: Sender<M>,
    inbox: mpsc::Receiver<Delivery<M>>,
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
        }
    }
}

impl<M: Serialize> Endpoint<M> {
    pub fn id(&self) -> EndpointId {
        self.sender.from
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn sender(&self) -> Sender<M> {
        self.sender.clone()
    }

    pub fn send(&self, to: EndpointId, msg: &M) -> Result<(), NetError> {
        self.sender.send(to, msg)
    }

    /// The next message; `None` once the endpoint is closed or the network has shut down.
    pub async fn recv(&mut self) -> Option<Delivery<M>> {
        self.inbox.recv().await
    }

    /// True when no received message is waiting in the inbox.
    pub fn inbox_is_empty(&self) -> bool {
        self.inbox.is_empty()
    }

    /// Splits the endpoint into its sender, its inbox and the guard that keeps it listening
    /// (for drivers that move the inbox into a task).
    pub fn split(self) -> (Sender<M>, mpsc::Receiver<Delivery<M>>, ListenGuard) {
        (self.sender, self.inbox, self.guard)
    }
}

impl<M> Network<M>
where
    M: Serialize + DeserializeOwned + Send + 'static,
{
    /// Creates a network; must be called inside a tokio runtime.
    pub fn new(config: NetConfig) -> Result<Self, NetError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| NetError::NoRuntime)?;
        let (delay_line, handle) = DelayLine::start().map_err(NetError::DelayLine)?;
        Ok(Network {
            inner: Arc::new(Inner {
                config,
                runtime,
                delay_line,
                delay_thread: Mutex::new(Some(handle)),
                endpoints: RwLock::new(Vec::new()),
                links: RwLock::new(HashMap::new()),
                rules: Mutex::new(Rules::default()),
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

    /// Opens (or re-opens, after a crash) an endpoint on a fresh OS-picked port.
    pub async fn listen(&self, id: EndpointId) -> Result<Endpoint<M>, NetError> {
        let name = self.name(id).ok_or(NetError::UnknownEndpoint(id))?;
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|source| NetError::Bind {
                name: name.clone(),
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| NetError::Bind { name, source })?;
        let (tx, inbox) = mpsc::channel(INBOX_CAPACITY);
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

    /// Cuts the link from `from` to `to` (one way).
    pub fn block(&self, from: EndpointId, to: EndpointId) {
        self.inner.rules.lock().blocked.insert((from, to));
        self.inner.apply_rules();
    }

    /// Restores the link from `from` to `to`.
    pub fn unblock(&self, from: EndpointId, to: EndpointId) {
        self.inner.rules.lock().blocked.remove(&(from, to));
        self.inner.apply_rules();
    }

    /// Cuts every link from DC `from` to DC `to` (one way), clients included.
    pub fn block_dcs(&self, from: DcIdx, to: DcIdx) {
        self.inner.rules.lock().blocked_dcs.insert((from, to));
        self.inner.apply_rules();
    }

    pub fn unblock_dcs(&self, from: DcIdx, to: DcIdx) {
        self.inner.rules.lock().blocked_dcs.remove(&(from, to));
        self.inner.apply_rules();
    }

    /// Cuts DC `dc` off from every other DC, both ways, and returns the `(from, to)` DC pairs
    /// it cut (to restore them with [`Network::unblock_dcs`]).
    pub fn isolate_dc(&self, dc: DcIdx) -> Vec<(DcIdx, DcIdx)> {
        let dcs = self.inner.config.links.len();
        let pairs: Vec<(DcIdx, DcIdx)> = (0..dcs)
            .filter(|other| *other != dc)
            .flat_map(|other| [(dc, other), (other, dc)])
            .collect();
        {
            let mut r = self.inner.rules.lock();
            r.blocked_dcs.extend(pairs.iter().copied());
        }
        self.inner.apply_rules();
        pairs
    }

    /// Removes every cut.
    pub fn heal(&self) {
        {
            let mut r = self.inner.rules.lock();
            r.blocked.clear();
            r.blocked_dcs.clear();
        }
        self.inner.apply_rules();
    }

    /// Holds every message from and to `id` until [`Network::resume`].
    pub fn pause(&self, id: EndpointId) {
        self.inner.rules.lock().paused.insert(id);
        self.inner.apply_rules();
    }

    pub fn resume(&self, id: EndpointId) {
        self.inner.rules.lock().paused.remove(&id);
        self.inner.apply_rules();
    }

    /// Replaces the delay of the links from DC `from` to DC `to`; `None` restores the
    /// topology's delay.
    pub fn set_dc_delay(&self, from: DcIdx, to: DcIdx, delay: Option<DelayModel>) {
        {
            let mut r = self.inner.rules.lock();
            match delay {
                Some(d) => r.delay_override.insert((from, to), d),
                None => r.delay_override.remove(&(from, to)),
            };
        }
        self.inner.apply_rules();
    }

    /// Replaces the loss rate of the links from DC `from` to DC `to`; `None` restores the
    /// topology's loss.
    pub fn set_dc_loss(&self, from: DcIdx, to: DcIdx, loss: Option<f64>) {
        {
            let mut r = self.inner.rules.lock();
            match loss {
                Some(l) => r.loss_override.insert((from, to), l),
                None => r.loss_override.remove(&(from, to)),
            };
        }
        self.inner.apply_rules();
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
        self.inner.stop_delay_line();
    }
}

impl Inner {
    fn stop_delay_line(&self) {
        self.delay_line.stop();
        if let Some(h) = self.delay_thread.lock().take() {
            // The thread exits as soon as it reads the stop command.
            let _ = h.join();
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
                    .delay_override
                    .get(&key)
                    .cloned()
                    .unwrap_or_else(|| spec.delay.clone()),
                rules.loss_override.get(&key).copied().unwrap_or(spec.loss),
                true,
            )
        };
        let blocked = rules.blocked.contains(&(from, to))
            || (dc_rules_apply && rules.blocked_dcs.contains(&(f.dc, t.dc)));
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
        let (tx, rx) = mpsc::unbounded_channel();
        let link = Arc::new(Link {
            from,
            to,
            state: Mutex::new(state),
            tx,
            counters: Arc::new(LinkCounters::default()),
        });
        self.tracker.spawn_on(
            write_loop(
                self.clone(),
                from,
                to,
                rx,
                link.counters.clone(),
                self.cancel.clone(),
            ),
            &self.runtime,
        );
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
        match st.admit(Instant::now(), bytes) {
            Admit::SendNow(b) => {
                let _ = link.tx.send(b);
            }
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

async fn connect(addr: SocketAddr, from: EndpointId, to: EndpointId) -> Option<Writer> {
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
        .await
        .ok()?
        .ok()?;
    stream.set_nodelay(true).ok()?;
    let mut w = FramedWrite::new(stream, frame::codec());
    let hello = frame::encode(&Hello {
        from: from.0,
        to: to.0,
    })
    .ok()?;
    w.send(hello).await.ok()?;
    Some(w)
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
        if conn.is_none() {
            if let Some(addr) = current {
                conn = tokio::select! {
                    _ = cancel.cancelled() => return,
                    c = connect(addr, from, to) => c.map(|w| (addr, w)),
                };
            }
        }
        let Some((_, w)) = conn.as_mut() else {
            LinkCounters::add(&counters.dropped_unreachable, batch.len() as u64);
            batch.clear();
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
    inbox: mpsc::Sender<Delivery<M>>,
    inner: Arc<Inner>,
    token: CancellationToken,
) where
    M: DeserializeOwned + Send + 'static,
{
    loop {
        let stream = tokio::select! {
            _ = token.cancelled() => return,
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                // Transient accept errors (e.g. too many open files) should not kill the
                // endpoint; back off briefly.
                Err(_) => {
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

async fn read_loop<M>(
    stream: TcpStream,
    me: EndpointId,
    inbox: mpsc::Sender<Delivery<M>>,
    inner: Arc<Inner>,
    token: CancellationToken,
) where
    M: DeserializeOwned + Send + 'static,
{
    let mut frames = FramedRead::new(stream, frame::codec());
    let hello = tokio::select! {
        _ = token.cancelled() => return,
        f = frames.next() => match f {
            Some(Ok(b)) => match frame::decode::<Hello>(&b) {
                Ok(h) if h.to == me.0 => h,
                _ => return,
            },
            _ => return,
        },
    };
    let from = EndpointId(hello.from);
    let counters = inner.counters(from, me);
    loop {
        let frame = tokio::select! {
            _ = token.cancelled() => return,
            f = frames.next() => match f {
                Some(Ok(b)) => b,
                _ => return,
            },
        };
        let Ok(msg) = frame::decode::<M>(&frame) else {
            return;
        };
        if let Some(c) = &counters {
            LinkCounters::add(&c.delivered, 1);
            LinkCounters::add(&c.delivered_bytes, frame.len() as u64);
        }
        let sent = tokio::select! {
            _ = token.cancelled() => return,
            r = inbox.send(Delivery { from, msg }) => r,
        };
        if sent.is_err() {
            return;
        }
    }
}

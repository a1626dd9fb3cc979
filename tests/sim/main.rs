//! Deterministic simulation of the token lifecycle (FoundationDB / TigerBeetle style).
//!
//! A seeded world drives the real [`Engine`]: a virtual clock, a fleet of clients in
//! separate "processes" (each an engine with the driver logic of the npm package: the
//! memo, joined flights, timers), a shared store (atomic like Redis, eventually
//! consistent like Workers KV, one that keeps no writes like the Cache API on
//! `*.workers.dev`, or flaky and hanging) and a token server with scripted faults (5xx
//! bursts, 429 with `Retry-After`, quota buckets, stalls, drops, bad bodies, lifetimes
//! from 2 s to 24 h). Processes crash, drivers lose outcomes, callers `clear()` and get
//! 401s. Every step checks the invariants:
//!
//! 1. no expired token is ever handed out;
//! 2. no call fails, or waits, while its client holds a valid token;
//! 3. at most one token request in flight per client;
//! 4. with an atomic lease store and a healthy server, no redundant token request
//!    beyond the number of crashes;
//! 5. every call settles within `Policy::call_bound_ms`;
//! 6. nothing grows without bound: every call settles, every engine goes idle, no
//!    request is sent while the client knows a quota bucket is empty.
//!
//! `SIM_SEEDS=n` sets the number of seeds (default 10,000); `SIM_SEED=s` replays one
//! seed and prints its whole trace. A failing seed prints the tail of its trace and the
//! command that replays it.

use datacosmos_auth::engine::{
    Action, AnswerHeaders, Engine, FlightId, Key, OpId, Outcome, Policy, StoreCaps, Verdict,
};
use datacosmos_auth::{Config, ConfigInput, Token};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::fmt::Write as _;

// ---- randomness --------------------------------------------------------------------

#[derive(Clone)]
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // SplitMix64.
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + self.unit() * (hi - lo)
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize]
    }
}

// ---- the scenario --------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
enum StoreKind {
    None,
    Atomic,
    Kv,
    NoWrites,
    Flaky,
}

#[derive(Clone, Debug)]
struct Scenario {
    clients: usize,
    store: StoreKind,
    lifetime_s: f64,
    leeway_s: f64,
    timeout_ms: f64,
    max_retries: u32,
    duration_ms: f64,
    mean_gap_ms: f64,
    healthy: bool,
    p_5xx: f64,
    p_429: f64,
    p_stall: f64,
    p_drop: f64,
    p_bad: f64,
    p_auth: f64,
    quota: Option<u64>,
    p_crash: f64,
    p_clear: f64,
    p_reject: f64,
    p_lost_outcome: f64,
    latency_ms: f64,
}

impl Scenario {
    fn draw(rng: &mut Rng) -> Scenario {
        let lifetime_s = rng.pick(&[2.0, 4.0, 10.0, 30.0, 120.0, 3600.0, 86_400.0]);
        let healthy = rng.chance(0.3);
        let f = |rng: &mut Rng, p: f64| if healthy { 0.0 } else { rng.range(0.0, p) };
        Scenario {
            clients: 1 + (rng.next() % 6) as usize,
            store: rng.pick(&[
                StoreKind::None,
                StoreKind::Atomic,
                StoreKind::Atomic,
                StoreKind::Kv,
                StoreKind::NoWrites,
                StoreKind::Flaky,
            ]),
            lifetime_s,
            leeway_s: rng.pick(&[0.0, 1.0, 60.0]),
            timeout_ms: rng.pick(&[200.0, 1000.0, 10_000.0]),
            max_retries: (rng.next() % 4) as u32,
            duration_ms: (lifetime_s * 1000.0 * rng.range(1.5, 4.0)).min(600_000.0),
            mean_gap_ms: rng.pick(&[5.0, 50.0, 500.0, 5000.0]),
            healthy,
            p_5xx: f(rng, 0.4),
            p_429: f(rng, 0.2),
            p_stall: f(rng, 0.05),
            p_drop: f(rng, 0.2),
            p_bad: f(rng, 0.05),
            p_auth: f(rng, 0.02),
            quota: if !healthy && rng.chance(0.2) {
                Some(2 + rng.next() % 6)
            } else {
                None
            },
            p_crash: if rng.chance(0.3) {
                rng.range(0.0, 0.01)
            } else {
                0.0
            },
            p_clear: if healthy { 0.0 } else { rng.range(0.0, 0.01) },
            p_reject: if healthy { 0.0 } else { rng.range(0.0, 0.02) },
            p_lost_outcome: if healthy { 0.0 } else { rng.range(0.0, 0.05) },
            latency_ms: rng.pick(&[1.0, 20.0, 150.0]),
        }
    }
}

// ---- the world -----------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Out {
    Answer {
        status: u16,
        body: String,
        retry_after: Option<String>,
        quota: Option<String>,
    },
    Failed {
        timeout: bool,
    },
    Value(Option<String>),
    Added(bool),
    Done,
    StoreFailed,
}

impl Out {
    fn answer(
        status: u16,
        body: impl Into<String>,
        retry_after: Option<String>,
        quota: Option<String>,
    ) -> Out {
        Out::Answer {
            status,
            body: body.into(),
            retry_after,
            quota,
        }
    }
}

#[derive(Clone, Debug)]
enum Ev {
    Call(usize),
    Complete {
        client: usize,
        life: u32,
        op: OpId,
        out: Out,
    },
    Timer {
        client: usize,
        life: u32,
        at: f64,
    },
    Crash(usize),
    Clear(usize),
    Reject(usize),
}

struct Waiter {
    arrived: f64,
}

struct Client {
    engine: Engine,
    /// Bumped by a crash: outcomes for an earlier life are dropped.
    life: u32,
    waiting: HashMap<FlightId, Vec<Waiter>>,
    /// The token request in flight and when it was sent.
    send: Option<(OpId, f64)>,
    timer: Option<f64>,
    /// Until when this client knows a quota bucket is empty.
    quota_known_until: f64,
}

struct Stored {
    value: String,
    expires: f64,
    visible: f64,
}

#[derive(Default)]
struct Stats {
    steps: u64,
    calls: u64,
    requests: u64,
    issued: u64,
    redundant: u64,
    crashes: u64,
    stale_served: u64,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.steps += o.steps;
        self.calls += o.calls;
        self.requests += o.requests;
        self.issued += o.issued;
        self.redundant += o.redundant;
        self.crashes += o.crashes;
        self.stale_served += o.stale_served;
    }
}

struct World {
    sc: Scenario,
    rng: Rng,
    now: f64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64)>>,
    events: HashMap<u64, Ev>,
    clients: Vec<Client>,
    store: BTreeMap<&'static str, Stored>,
    tokens: u64,
    /// The latest "fresh until" (server time) of any issued token.
    fresh_until: f64,
    quota_left: u64,
    quota_reset: f64,
    trace: Vec<String>,
    keep_trace: bool,
    stats: Stats,
    policy: Policy,
}

fn key_name(k: Key) -> &'static str {
    match k {
        Key::Entry => "entry",
        Key::Lease => "lease",
        Key::Quota => "quota",
    }
}

impl World {
    fn new(seed: u64, keep_trace: bool) -> World {
        let mut rng = Rng(seed);
        let mut sc = Scenario::draw(&mut rng);
        // At most about 600 calls a seed: breadth over seeds beats depth in one.
        sc.mean_gap_ms = sc.mean_gap_ms.max(sc.duration_ms / 600.0);
        let config = Config::new(ConfigInput {
            client_id: Some("sim-client".into()),
            client_secret: Some(datacosmos_auth::ClientSecret::new("sim-secret-0123")),
            token_url: Some("http://127.0.0.1/token".into()),
            refresh_leeway_seconds: Some(sc.leeway_s),
            timeout_ms: Some(sc.timeout_ms),
            max_retries: Some(f64::from(sc.max_retries)),
            ..ConfigInput::default()
        })
        .expect("valid config");
        let caps = match sc.store {
            StoreKind::None => None,
            kind => Some(StoreCaps {
                atomic_add: matches!(kind, StoreKind::Atomic | StoreKind::Flaky),
                delete: true,
                timeout_ms: sc.timeout_ms.min(1000.0),
            }),
        };
        let policy = Policy::new(&config, caps);
        let clients = (0..sc.clients)
            .map(|i| Client {
                engine: Engine::new(policy.clone(), seed ^ (i as u64 + 1)),
                life: 0,
                waiting: HashMap::new(),
                send: None,
                timer: None,
                quota_known_until: f64::NEG_INFINITY,
            })
            .collect();
        let quota_left = sc.quota.unwrap_or(u64::MAX);
        let mut w = World {
            sc,
            rng,
            now: 1_700_000_000_000.0,
            seq: 0,
            queue: BinaryHeap::new(),
            events: HashMap::new(),
            clients,
            store: BTreeMap::new(),
            tokens: 0,
            fresh_until: f64::NEG_INFINITY,
            quota_left,
            quota_reset: f64::INFINITY,
            trace: Vec::new(),
            keep_trace,
            stats: Stats::default(),
            policy,
        };
        w.quota_reset = w.now + 20_000.0;
        w.trace(format!("scenario {:?}", w.sc));
        let mut t = w.now;
        let end = w.now + w.sc.duration_ms;
        while t < end {
            let c = (w.rng.next() % w.sc.clients as u64) as usize;
            w.at(t, Ev::Call(c));
            let r = w.rng.unit();
            if r < w.sc.p_crash {
                w.at(t + 1.0, Ev::Crash(c));
            } else if r < w.sc.p_crash + w.sc.p_clear {
                w.at(t + 1.0, Ev::Clear(c));
            } else if r < w.sc.p_crash + w.sc.p_clear + w.sc.p_reject {
                w.at(t + 1.0, Ev::Reject(c));
            }
            t += w.rng.range(0.0, 2.0 * w.sc.mean_gap_ms);
        }
        w
    }

    fn trace(&mut self, line: String) {
        if self.keep_trace || self.trace.len() < 4000 {
            self.trace.push(line);
        } else {
            self.trace.drain(..2000);
            self.trace.push(line);
        }
    }

    fn at(&mut self, t: f64, ev: Ev) {
        self.seq += 1;
        let t = t.max(self.now);
        self.queue
            .push(Reverse(((t * 1000.0).ceil() as u64, self.seq)));
        self.events.insert(self.seq, ev);
    }

    fn fail(&self, seed: u64, what: &str) -> ! {
        let keep = if self.keep_trace { usize::MAX } else { 60 };
        let tail: Vec<&String> = self.trace.iter().rev().take(keep).collect();
        let mut msg = String::new();
        for l in tail.into_iter().rev() {
            let _ = writeln!(msg, "  {l}");
        }
        panic!(
            "seed {seed}: invariant violated at t={:.0}: {what}\ntrace tail:\n{msg}replay: SIM_SEED={seed} cargo test --test sim",
            self.now - 1_700_000_000_000.0
        );
    }

    fn run(&mut self, seed: u64) {
        let hard_end =
            self.now + self.sc.duration_ms + self.policy.call_bound_ms() * 2.0 + 120_000.0;
        while let Some(Reverse((t, seq))) = self.queue.pop() {
            let Some(ev) = self.events.remove(&seq) else {
                continue;
            };
            self.now = (t as f64) / 1000.0;
            if self.now > hard_end {
                self.fail(seed, "the world did not quiesce");
            }
            self.stats.steps += 1;
            self.step(seed, ev);
        }
        for (i, c) in self.clients.iter().enumerate() {
            let waiting: usize = c.waiting.values().map(Vec::len).sum();
            if waiting > 0 {
                self.fail(seed, &format!("client {i}: {waiting} calls never settled"));
            }
            if c.engine.is_busy() {
                self.fail(seed, &format!("client {i}: engine still busy at the end"));
            }
        }
    }

    fn holds_valid(&self, c: usize) -> bool {
        self.clients[c]
            .engine
            .token()
            .is_some_and(|t| self.now < datacosmos_auth::engine::usable_until(t))
    }

    fn check_token(&self, seed: u64, t: &Token) {
        // Not expired, and not in its last min(1 s, lifetime / 10) either: such a token
        // would expire on its way to the resource server.
        if self.now >= datacosmos_auth::engine::usable_until(t) {
            self.fail(
                seed,
                &format!("expired (or nearly) token {} handed out", t.access_token),
            );
        }
        // The server's own expiry of this token (issued after the client sent its request).
        if let Some(real) = t
            .access_token
            .strip_prefix("tok-")
            .and_then(|n| n.split('-').nth(1))
        {
            let real: f64 = real.parse().unwrap_or(f64::INFINITY);
            if self.now >= real {
                self.fail(seed, "token past the server's expiry handed out");
            }
        }
    }

    fn step(&mut self, seed: u64, ev: Ev) {
        match ev {
            Ev::Call(c) => {
                self.stats.calls += 1;
                let now = self.now;
                // The driver's memo first, as the JS driver does.
                let memo = self.clients[c].engine.memo(now);
                if let Some((t, _)) = memo.serve {
                    let t = t.clone();
                    let mut probe = self.clients[c].engine.clone();
                    match probe.call(now) {
                        Verdict::Ready(Ok(p)) if p.access_token == t.access_token => {}
                        other => self.fail(
                            seed,
                            &format!("memo serves a token the engine would not: {other:?}"),
                        ),
                    }
                    if std::iter::from_fn(|| probe.poll_action())
                        .any(|a| matches!(a, Action::Send { .. } | Action::Get { .. }))
                    {
                        self.fail(
                            seed,
                            "memo serves a token while the engine would start a renewal",
                        );
                    }
                    self.trace(format!("call c{c}: memo {}", t.access_token));
                    self.check_token(seed, &t);
                    return;
                }
                if let Some(f) = memo.join {
                    self.trace(format!("call c{c}: join flight {f}"));
                    self.clients[c]
                        .waiting
                        .entry(f)
                        .or_default()
                        .push(Waiter { arrived: now });
                    return;
                }
                let held = self.holds_valid(c);
                let v = self.clients[c].engine.call(now);
                self.trace(format!("call c{c}: {}", short(&v)));
                self.verdict(seed, c, v, held);
                self.drain(seed, c);
            }
            Ev::Reject(c) => {
                let Some(t) = self.clients[c].engine.token().cloned() else {
                    return;
                };
                let now = self.now;
                let v = self.clients[c].engine.reject(now, &t.access_token);
                self.trace(format!("reject c{c} {}: {}", t.access_token, short(&v)));
                if let Verdict::Ready(Ok(n)) = &v {
                    if n.access_token == t.access_token {
                        self.fail(seed, "a rejected token was handed out again");
                    }
                }
                let held = self.holds_valid(c);
                self.verdict(seed, c, v, held);
                self.drain(seed, c);
            }
            Ev::Clear(c) => {
                let now = self.now;
                self.clients[c].engine.clear(now);
                self.trace(format!("clear c{c}"));
                self.drain(seed, c);
            }
            Ev::Crash(c) => {
                self.stats.crashes += 1;
                let cl = &mut self.clients[c];
                cl.life += 1;
                cl.engine = Engine::new(self.policy.clone(), seed ^ u64::from(cl.life) << 32);
                cl.waiting.clear();
                cl.send = None;
                cl.timer = None;
                cl.quota_known_until = f64::NEG_INFINITY;
                self.trace(format!("crash c{c}"));
            }
            Ev::Timer {
                client: c,
                life,
                at,
            } => {
                // Exact instants: the queue's clock is rounded to whole microseconds.
                if life != self.clients[c].life || self.clients[c].timer != Some(at) {
                    return;
                }
                self.clients[c].timer = None;
                self.now = self.now.max(at);
                let now = self.now;
                self.clients[c].engine.handle_timeout(now);
                self.drain(seed, c);
            }
            Ev::Complete {
                client: c,
                life,
                op,
                out,
            } => {
                if life != self.clients[c].life {
                    return;
                }
                if self.clients[c].send.is_some_and(|(o, _)| o == op) {
                    self.clients[c].send = None;
                }
                if let Out::Answer { quota: Some(q), .. } = &out {
                    if q.contains("r=0;") {
                        // What the header told this client: empty for t more seconds.
                        let t: f64 = q
                            .rsplit("t=")
                            .next()
                            .and_then(|t| t.parse().ok())
                            .unwrap_or(0.0);
                        let until = self.now + t * 1000.0;
                        let cl = &mut self.clients[c];
                        cl.quota_known_until = cl.quota_known_until.max(until);
                    }
                }
                self.trace(format!("c{c} op {op} -> {}", short_out(&out)));
                let now = self.now;
                let outcome = match &out {
                    Out::Answer {
                        status,
                        body,
                        retry_after,
                        quota,
                    } => Outcome::Answer {
                        status: *status,
                        body: Some(body),
                        headers: AnswerHeaders {
                            retry_after_ms: retry_after
                                .as_deref()
                                .and_then(|v| datacosmos_auth::retry::parse_retry_after(v, now)),
                            client_quota: quota.as_deref(),
                            ..AnswerHeaders::default()
                        },
                    },
                    Out::Failed { timeout } => Outcome::Failed {
                        timeout: *timeout,
                        message: "connection reset; secret sim-secret-0123",
                    },
                    Out::Value(v) => Outcome::Value(v.as_deref()),
                    Out::Added(b) => Outcome::Added(*b),
                    Out::Done => Outcome::Done,
                    Out::StoreFailed => Outcome::StoreFailed,
                };
                self.clients[c].engine.handle(now, op, outcome);
                self.drain(seed, c);
            }
        }
    }

    fn verdict(&mut self, seed: u64, c: usize, v: Verdict, held_valid: bool) {
        match v {
            Verdict::Ready(Ok(t)) => self.check_token(seed, &t),
            Verdict::Ready(Err(e)) => {
                if held_valid || self.holds_valid(c) {
                    self.fail(
                        seed,
                        &format!(
                            "call failed ({}) while the client holds a valid token",
                            e.code()
                        ),
                    );
                }
            }
            Verdict::Wait(f) => {
                // Waiting while holding a valid token is only for a due one (the
                // renewal's bounded wait), never a fresh one.
                let fresh = self.clients[c].engine.token().is_some_and(|t| {
                    datacosmos_auth::engine::is_fresh(t, self.now, self.policy.leeway_ms)
                });
                if held_valid && fresh {
                    self.fail(seed, "a call waits while the client holds a fresh token");
                }
                let now = self.now;
                self.clients[c]
                    .waiting
                    .entry(f)
                    .or_default()
                    .push(Waiter { arrived: now });
            }
        }
    }

    fn complete_later(&mut self, c: usize, op: OpId, latency: f64, out: Out) {
        if self.rng.chance(self.sc.p_lost_outcome) {
            self.trace(format!("c{c} op {op}: outcome lost by the driver"));
            return;
        }
        let life = self.clients[c].life;
        let t = self.now + latency;
        self.at(
            t,
            Ev::Complete {
                client: c,
                life,
                op,
                out,
            },
        );
    }

    fn drain(&mut self, seed: u64, c: usize) {
        while let Some(a) = self.clients[c].engine.poll_action() {
            match a {
                Action::Send { op } => self.request(seed, c, op),
                Action::Get { op, key } => {
                    let out = self.store_get(key);
                    self.store_op(c, op, out);
                }
                Action::Put {
                    op,
                    key,
                    value,
                    ttl_seconds,
                } => {
                    let out = self.store_put(key, value, ttl_seconds as f64 * 1000.0);
                    self.store_op(c, op, out);
                }
                Action::Add {
                    op,
                    key,
                    value,
                    ttl_ms,
                } => {
                    let out = self.store_add(key, value, ttl_ms as f64);
                    self.store_op(c, op, out);
                }
                Action::Delete { op, key } => {
                    self.store.remove(key_name(key));
                    self.store_op(c, op, Out::Done);
                }
                Action::Settle { flight, outcome } => {
                    let waiters = self.clients[c].waiting.remove(&flight).unwrap_or_default();
                    self.trace(format!(
                        "c{c} settle flight {flight} ({} callers): {}",
                        waiters.len(),
                        match &outcome {
                            Ok(t) => t.access_token.clone(),
                            Err(e) => e.code().to_owned(),
                        }
                    ));
                    let bound = self.policy.call_bound_ms() + 1.0;
                    for w in &waiters {
                        if self.now - w.arrived > bound {
                            self.fail(
                                seed,
                                &format!(
                                    "a call waited {:.0} ms, bound {bound:.0}",
                                    self.now - w.arrived
                                ),
                            );
                        }
                    }
                    match &outcome {
                        Ok(t) => self.check_token(seed, t),
                        Err(e) if !waiters.is_empty() && self.holds_valid(c) => self.fail(
                            seed,
                            &format!(
                                "callers failed ({}) while the client holds a valid token",
                                e.code()
                            ),
                        ),
                        Err(e) => {
                            if e.to_string().contains("sim-secret-0123") {
                                self.fail(seed, "the secret reached an error");
                            }
                        }
                    }
                }
                Action::Event(e) => {
                    if matches!(e, datacosmos_auth::engine::Event::StaleServed { .. }) {
                        self.stats.stale_served += 1;
                    }
                    self.trace(format!("c{c} event {e:?}"));
                }
            }
        }
        let cl = &mut self.clients[c];
        let next = cl.engine.poll_timeout();
        if next != cl.timer {
            let line = format!("c{c} timer {:?}", next.map(|t| t - 1_700_000_000_000.0));
            let cl = &mut self.clients[c];
            cl.timer = next;
            if let Some(t) = next {
                let life = cl.life;
                self.at(
                    t,
                    Ev::Timer {
                        client: c,
                        life,
                        at: t,
                    },
                );
            }
            self.trace(line);
        }
    }

    fn store_op(&mut self, c: usize, op: OpId, out: Out) {
        let latency = self.rng.range(1.0, 30.0);
        if self.sc.store == StoreKind::Flaky {
            if self.rng.chance(0.05) {
                self.trace(format!("c{c} op {op}: the store hangs"));
                return;
            }
            if self.rng.chance(0.2) {
                return self.complete_later(c, op, latency, Out::StoreFailed);
            }
        }
        self.complete_later(c, op, latency, out);
    }

    fn store_get(&mut self, key: Key) -> Out {
        let now = self.now;
        Out::Value(
            self.store
                .get(key_name(key))
                .filter(|s| s.expires > now && s.visible <= now)
                .map(|s| s.value.clone()),
        )
    }

    fn store_put(&mut self, key: Key, value: String, ttl_ms: f64) -> Out {
        if self.sc.store == StoreKind::NoWrites {
            return Out::Done;
        }
        let visible = if self.sc.store == StoreKind::Kv {
            self.now + self.rng.range(0.0, 3000.0)
        } else {
            self.now
        };
        self.store.insert(
            key_name(key),
            Stored {
                value,
                expires: self.now + ttl_ms,
                visible,
            },
        );
        Out::Done
    }

    fn store_add(&mut self, key: Key, value: String, ttl_ms: f64) -> Out {
        let now = self.now;
        if self
            .store
            .get(key_name(key))
            .is_some_and(|s| s.expires > now)
        {
            return Out::Added(false);
        }
        self.store_put(key, value, ttl_ms);
        Out::Added(true)
    }

    fn request(&mut self, seed: u64, c: usize, op: OpId) {
        self.stats.requests += 1;
        let now = self.now;
        if let Some((prev, at)) = self.clients[c].send {
            if now - at < self.sc.timeout_ms + 1000.0 {
                self.fail(
                    seed,
                    &format!("client {c} sent op {op} while op {prev} is in flight"),
                );
            }
        }
        self.clients[c].send = Some((op, now));
        self.trace(format!("c{c} op {op}: token request"));
        if now < self.clients[c].quota_known_until {
            self.fail(
                seed,
                "a request was sent while the client knew a quota bucket was empty",
            );
        }
        if now >= self.quota_reset {
            self.quota_left = self.sc.quota.unwrap_or(u64::MAX);
            self.quota_reset = now + 20_000.0;
        }
        let sc = self.sc.clone();
        let latency = self.rng.range(0.5, sc.latency_ms);
        let quota_header = |left: u64, reset: f64, now: f64| {
            sc.quota.map(|q| {
                format!(
                    "b=per_hour;q={q};r={left};t={}",
                    ((reset - now) / 1000.0).ceil() as u64
                )
            })
        };
        if sc.quota.is_some() && self.quota_left == 0 {
            let header = quota_header(0, self.quota_reset, now);
            return self.complete_later(
                c,
                op,
                latency,
                Out::answer(
                    429,
                    r#"{"error":"too_many_requests","error_description":"quota exceeded"}"#,
                    None,
                    header,
                ),
            );
        }
        let r = self.rng.unit();
        let mut p = 0.0;
        let mut hit = |x: f64| {
            p += x;
            r < p
        };
        if hit(sc.p_stall) {
            self.trace(format!("c{c} op {op}: the server stalls"));
            return;
        }
        if hit(sc.p_drop) {
            let timeout = self.rng.chance(0.3);
            return self.complete_later(c, op, latency, Out::Failed { timeout });
        }
        if hit(sc.p_5xx) {
            let status = self.rng.pick(&[500, 502, 503, 504]);
            return self.complete_later(
                c,
                op,
                latency,
                Out::answer(status, "<html>bad gateway</html>", None, None),
            );
        }
        if hit(sc.p_429) {
            let ra = self
                .rng
                .pick(&["0", "1", "5", "61", "18446744073709551616", "junk"]);
            return self.complete_later(
                c,
                op,
                latency,
                Out::answer(
                    429,
                    r#"{"error":"too_many_requests"}"#,
                    Some(ra.into()),
                    None,
                ),
            );
        }
        if hit(sc.p_bad) {
            // A broken body, or a token that expires as it arrives (expires_in 0).
            let body = if self.rng.chance(0.5) {
                "{\"access_token\": 42".to_owned()
            } else {
                format!(
                    r#"{{"access_token":"tok-0-{}","expires_in":0}}"#,
                    now as u64
                )
            };
            return self.complete_later(c, op, latency, Out::answer(200, body, None, None));
        }
        if hit(sc.p_auth) {
            return self.complete_later(c, op, latency, Out::answer(401, r#"{"error":"invalid_client","error_description":"bad secret sim-secret-0123"}"#, None, None));
        }
        // A token: issued when the request arrives, half-way.
        let issued = now + latency / 2.0;
        self.tokens += 1;
        self.stats.issued += 1;
        let life_ms = sc.lifetime_s * 1000.0;
        let expires = issued + life_ms;
        let margin = (sc.leeway_s * 1000.0)
            .min(life_ms / 2.0)
            .max(datacosmos_auth::engine::EXPIRY_MARGIN_MS.min(life_ms / 10.0));
        if self.sc.healthy
            && self.sc.store == StoreKind::Atomic
            && self.sc.p_clear == 0.0
            && issued + 2.0 * sc.latency_ms + 100.0 < self.fresh_until
        {
            self.stats.redundant += 1;
            if self.stats.redundant > self.stats.crashes {
                self.fail(
                    seed,
                    &format!(
                        "redundant token request: {} redundant > {} crashes",
                        self.stats.redundant, self.stats.crashes
                    ),
                );
            }
        }
        self.fresh_until = self.fresh_until.max(expires - margin);
        if sc.quota.is_some() {
            self.quota_left -= 1;
        }
        let header = quota_header(self.quota_left, self.quota_reset, now);
        let body = format!(
            r#"{{"access_token":"tok-{}-{}","token_type":"Bearer","expires_in":{}}}"#,
            self.tokens,
            expires.ceil() as u64,
            sc.lifetime_s
        );
        self.complete_later(c, op, latency, Out::answer(200, body, None, header));
    }
}

fn short(v: &Verdict) -> String {
    match v {
        Verdict::Ready(Ok(t)) => format!("ready {}", t.access_token),
        Verdict::Ready(Err(e)) => format!("ready error {}", e.code()),
        Verdict::Wait(f) => format!("wait flight {f}"),
    }
}

fn short_out(o: &Out) -> String {
    match o {
        Out::Answer { status, body, .. } => format!(
            "HTTP {status} {}",
            body.chars().take(48).collect::<String>()
        ),
        other => format!("{other:?}"),
    }
}

fn run_seed(seed: u64, keep_trace: bool) -> (Stats, Vec<String>) {
    let mut w = World::new(seed, keep_trace);
    w.run(seed);
    let trace = std::mem::take(&mut w.trace);
    (w.stats, trace)
}

fn main() {
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    if let Some(seed) = env("SIM_SEED") {
        let result = std::panic::catch_unwind(|| run_seed(seed, true));
        match result {
            Ok((stats, trace)) => {
                for l in trace {
                    println!("{l}");
                }
                println!(
                    "seed {seed}: {} steps, {} calls, invariants held",
                    stats.steps, stats.calls
                );
            }
            Err(_) => std::process::exit(1),
        }
        return;
    }
    let seeds = env("SIM_SEEDS").unwrap_or(10_000);
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(4) as u64;
    let totals = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                s.spawn(move || {
                    let mut t = Stats::default();
                    let mut seed = k;
                    while seed < seeds {
                        t.add(&run_seed(seed, false).0);
                        seed += threads;
                    }
                    t
                })
            })
            .collect();
        let mut all = Stats::default();
        let mut failed = false;
        for h in handles {
            match h.join() {
                Ok(t) => all.add(&t),
                Err(_) => failed = true,
            }
        }
        (all, failed)
    });
    let (all, failed) = totals;
    if failed {
        println!("simulation: 0 passed, 1 failed");
        std::process::exit(1);
    }
    println!(
        "simulation: {seeds} seeds, {} steps, {} calls, {} token requests ({} tokens issued), {} crashes, {} stale tokens served: every invariant held",
        all.steps, all.calls, all.requests, all.issued, all.crashes, all.stale_served
    );
    println!("simulation: 1 passed, 0 failed");
}

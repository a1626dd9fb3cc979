//! The token lifecycle as a pure, synchronous state machine: events in, actions out.
//!
//! The sans-io pattern of quinn-proto and rustls: an [`Engine`] never performs I/O,
//! never reads a clock and never spawns anything. Its driver (JavaScript in the npm
//! package, `TokenClient` for Rust on wasm32, a simulated world in the tests)
//! tells it what happened, each time with the current time:
//!
//! - [`Engine::call`]: a caller wants a token; [`Engine::reject`]: a resource server
//!   answered 401 to this token; [`Engine::clear`]: forget the token;
//! - [`Engine::handle`]: an operation it asked for finished ([`Outcome`]);
//! - [`Engine::handle_timeout`]: the instant of [`Engine::poll_timeout`] has come.
//!
//! and performs what it is told: [`Engine::poll_action`] yields [`Action`]s (send the
//! token request, read or write the shared store, settle the callers waiting on a
//! flight, report an [`Event`]).
//!
//! # Every decision lives here
//! - **Freshness.** A token is *fresh* until `min(leeway, lifetime / 2)` before expiry
//!   and *valid*, handed out, until `min(1 s, lifetime / 10)` before expiry
//!   ([`usable_until`]): a token with less left would expire on its way.
//! - **Serve-stale.** A call made while the client holds a valid token is answered at
//!   once with it. A token that is valid but no longer fresh is renewed in the
//!   background by one flight; if that renewal fails the token keeps being served until
//!   it expires, and the renewal is tried again one backoff step later, not on every
//!   call. A failure reaches callers only when the client holds no valid token.
//! - **Single flight.** At most one exchange per engine; callers without a valid token
//!   wait for it ([`Verdict::Wait`]) and are settled together ([`Action::Settle`]).
//! - **Store and lease.** With a shared store, a flight first reads it; a fresh entry is
//!   used as it is; otherwise one client, the holder of the refresh lease, asks the token
//!   endpoint while the others keep serving the stored token or wait in the store,
//!   trying the lease again at each look (a dead holder's lease lapses and one waiter
//!   takes it over), and fetch on their own after twice the lease time ([`lease_ms`]).
//! - **Retries.** Network errors, timeouts, 408, 429 and 5xx are retried with backoff,
//!   honouring `Retry-After` ([`crate::retry`]).
//! - **Quota.** While an Auth0 quota bucket reads `remaining: 0`, no request is made
//!   until it resets ([`quota`]).
//! - **Negative cache.** After `invalid_client`, `unauthorized_client`,
//!   `access_denied` or `invalid_grant` (a refused refresh token), callers without a valid token fail fast for
//!   [`Policy::negative_cache_ms`].
//! - **Bounds.** Every operation has a deadline, so every waiting call settles within
//!   [`Policy::call_bound_ms`] even when the driver never reports an outcome (a workerd
//!   request context torn down mid-exchange).

#[allow(unused_imports)]
use crate::prelude::*;
pub mod entry;
pub mod quota;

use crate::config::{ClientSecret, Config};
use crate::response::{self, Answer as ParsedAnswer, Token};
use crate::retry::{self, Decision};
use crate::Error;
use alloc::collections::VecDeque;
use quota::Bucket;

/// How long a client waiting for a lease holder looks into the store again.
pub const POLL_MS: f64 = 250.0;
/// A stored token with less validity left than this is not used by a flight.
pub const MIN_VALIDITY_MS: f64 = 5_000.0;
/// The expiry of a static token that is not a JWT: the latest instant a JavaScript
/// `Date` holds (8.64e15 ms since the epoch).
pub const NO_EXPIRY_MS: f64 = 8.64e15;
/// How much longer than the driver's own limit the engine waits for an outcome before it
/// decides for itself that the operation failed.
pub const BACKSTOP_MS: f64 = 1_000.0;

/// The id of an operation the engine asked for ([`Action`]); its [`Outcome`] names it.
pub type OpId = u32;
/// The id of a flight (one token acquisition shared by its callers).
pub type FlightId = u32;

/// What the shared store can do (API.md `TokenStore`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StoreCaps {
    /// `add(key, value, { ttlMs })`: an atomic set-if-absent (Redis `SET NX PX`, a Deno KV
    /// check, a Durable Object); the lease is then a real lock.
    pub atomic_add: bool,
    /// `delete(key)` exists.
    pub delete: bool,
    /// The bound on one store call, in ms (`min(timeoutMs, 1000)`).
    pub timeout_ms: f64,
}

/// The engine's settings, from a validated [`Config`].
#[derive(Clone, Debug)]
pub struct Policy {
    /// Renewal margin before expiry, in ms (`refreshLeewaySeconds` × 1000).
    pub leeway_ms: f64,
    /// Per-attempt limit of the token request, in ms.
    pub timeout_ms: u32,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// How long `invalid_client`, `unauthorized_client`, `access_denied` and `invalid_grant` are answered
    /// without a request, in ms.
    pub negative_cache_ms: f64,
    /// The shared store, if any.
    pub store: Option<StoreCaps>,
    /// For redacting server text.
    pub secret: ClientSecret,
}

impl Policy {
    /// The policy of `config`, with `store` and a negative cache of `negative_cache_ms`.
    pub fn new(config: &Config, store: Option<StoreCaps>) -> Policy {
        Policy {
            leeway_ms: config.refresh_leeway_ms(),
            timeout_ms: config.timeout_ms(),
            max_retries: config.max_retries(),
            negative_cache_ms: config.negative_cache_ms(),
            store,
            secret: config.client_secret().clone(),
        }
    }

    /// How long the refresh lease is held: see [`lease_ms`].
    pub fn lease_ms(&self) -> f64 {
        lease_ms(self.timeout_ms, self.max_retries)
    }

    fn store_bound(&self) -> f64 {
        self.store.map_or(0.0, |s| s.timeout_ms + BACKSTOP_MS)
    }

    fn send_bound(&self) -> f64 {
        f64::from(self.timeout_ms) + BACKSTOP_MS
    }

    /// The longest a call can wait for its flight, in ms: the store read and lease (four
    /// store calls), the wait for a lease holder, every attempt with its longest backoff
    /// or `Retry-After`, and the store write.
    pub fn call_bound_ms(&self) -> f64 {
        let store = if self.store.is_some() {
            10.0 * self.store_bound() + 2.0 * self.lease_ms() + POLL_MS
        } else {
            0.0
        };
        let attempts = f64::from(self.max_retries + 1) * (self.send_bound() + self.store_bound());
        let waits =
            f64::from(self.max_retries) * retry::MAX_RETRY_AFTER_MS.max(retry::MAX_DELAY_MS);
        store + attempts + waits
    }
}

/// How long a refresh lease lasts: one full exchange with its retries, plus a second,
/// within 2 to 30 s. A holder that dies delays the others by at most this much.
pub fn lease_ms(timeout_ms: u32, max_retries: u32) -> f64 {
    let exchange = u64::from(timeout_ms) * u64::from(max_retries + 1) + 1000;
    exchange.clamp(2_000, 30_000) as f64
}

/// Whether `token` is still fresh at `now_ms`: fewer than `min(leeway, lifetime / 2)`
/// remain before it is renewed, so a short-lived token is still reused for half its life.
pub fn is_fresh(token: &Token, now_ms: f64, leeway_ms: f64) -> bool {
    now_ms < fresh_until(token, leeway_ms)
}

/// The instant (ms) from which `token` is due for renewal.
pub fn fresh_until(token: &Token, leeway_ms: f64) -> f64 {
    let lifetime = token.expires_at_ms - token.obtained_at_ms;
    if lifetime.is_nan() || lifetime <= 0.0 {
        return f64::NEG_INFINITY;
    }
    // Never later than usable_until: a token past that is not handed out at all.
    let margin = EXPIRY_MARGIN_MS.min(lifetime / 10.0);
    token.expires_at_ms - leeway_ms.min(lifetime / 2.0).max(margin)
}

/// The most of its validity a token spends unusable at its end, in ms: a token with
/// less left would expire on its way to the resource server, so it is not handed out.
pub const EXPIRY_MARGIN_MS: f64 = 1_000.0;

/// Until when (ms) `token` may be handed out: its expiry less `min(1 s, lifetime / 10)`
/// (found by the chaos test: a call 4 ms before `exp` got a token that had expired by
/// the time its answer arrived).
pub fn usable_until(token: &Token) -> f64 {
    let lifetime = (token.expires_at_ms - token.obtained_at_ms).max(0.0);
    token.expires_at_ms - EXPIRY_MARGIN_MS.min(lifetime / 10.0)
}

/// Which store key an operation is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// The sealed token entry.
    Entry,
    /// The refresh lease (its value is not secret: a random id and an expiry).
    Lease,
    /// A quota block (not secret: when it ends, in ms): how a block one client learned
    /// reaches the clients of other processes and isolates before they send.
    Quota,
}

/// What the driver must do.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Send the token request (the driver built it once from the config) and report
    /// [`Outcome::Answer`] or [`Outcome::Failed`]; abort it after `timeoutMs`.
    Send {
        /// The operation's id.
        op: OpId,
    },
    /// Read `key` from the store: [`Outcome::Value`] or [`Outcome::StoreFailed`].
    Get {
        /// The operation's id.
        op: OpId,
        /// Which key.
        key: Key,
    },
    /// Write `value` (the entry is sealed by the driver) with a TTL in whole seconds
    /// (at least 60, the Workers KV minimum): [`Outcome::Done`] or [`Outcome::StoreFailed`].
    Put {
        /// The operation's id.
        op: OpId,
        /// Which key.
        key: Key,
        /// The plaintext value.
        value: String,
        /// Seconds to keep it.
        ttl_seconds: u64,
    },
    /// `add(key, value, { ttlMs })`: [`Outcome::Added`] or [`Outcome::StoreFailed`].
    Add {
        /// The operation's id.
        op: OpId,
        /// Which key.
        key: Key,
        /// The lease value.
        value: String,
        /// Milliseconds to hold it.
        ttl_ms: u64,
    },
    /// Delete `key` where the store can; nobody waits for it.
    Delete {
        /// The operation's id.
        op: OpId,
        /// Which key.
        key: Key,
    },
    /// Settle every caller waiting on `flight` with this outcome. A flight may settle its
    /// callers early (a valid token found in the store) and go on renewing.
    Settle {
        /// The flight.
        flight: FlightId,
        /// The token, or why there is none.
        outcome: Result<Token, Error>,
    },
    /// Report this to the user's `onEvent`.
    Event(Event),
}

/// Where a token came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The token endpoint.
    Endpoint,
    /// The shared store.
    Store,
}

/// What happened to the refresh lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseState {
    /// This client holds it.
    Taken,
    /// Another client holds it; this one waits for its token.
    Waited,
    /// Given back.
    Released,
}

/// An observable event (API.md "Events"). Never holds the secret or the token.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A flight obtained a token.
    Token {
        /// Endpoint or store.
        source: Source,
        /// From the flight's start, in ms.
        duration_ms: f64,
    },
    /// A failed attempt is retried.
    Retry {
        /// The retry's number, from 1.
        attempt: u32,
        /// The wait before it, in ms.
        delay_ms: f64,
        /// The failed attempt's error code.
        reason: String,
    },
    /// A renewal failed and the still valid token is served (until `expires_at_ms`).
    StaleServed {
        /// The renewal's error code.
        reason: String,
        /// When the served token expires.
        expires_at_ms: f64,
    },
    /// A store call failed, threw or timed out; it counted as a miss.
    StoreError {
        /// `get`, `put`, `add` or `lease` (a store that keeps no writes).
        operation: &'static str,
    },
    /// The refresh lease changed hands.
    Lease {
        /// What happened.
        state: LeaseState,
    },
    /// The token endpoint reported quota buckets.
    Quota {
        /// As reported.
        buckets: Vec<Bucket>,
    },
    /// A call failed fast from the negative cache.
    NegativeCache {
        /// The cached error's code.
        code: String,
    },
}

/// The headers of a token endpoint answer that the engine reads.
#[derive(Clone, Copy, Debug, Default)]
pub struct AnswerHeaders<'a> {
    /// `Retry-After` as the wait in ms (RFC 9110 §10.2.3: delay-seconds, or an HTTP date
    /// minus now), parsed by the driver: [`retry::parse_retry_after`] in Rust, `Number` and
    /// `Date.parse` in the npm package (whose `.wasm` then carries no date parser). A value
    /// that overflows is the largest.
    pub retry_after_ms: Option<f64>,
    /// `Date` in ms since the epoch ([`retry::parse_http_date`] or `Date.parse`).
    pub date_ms: Option<f64>,
    /// `Auth0-Client-Quota-Limit`.
    pub client_quota: Option<&'a str>,
    /// `Auth0-Organization-Quota-Limit`.
    pub organization_quota: Option<&'a str>,
    /// `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset`.
    pub rate_limit: Option<(&'a str, &'a str, &'a str)>,
}

/// How an operation ended.
#[derive(Clone, Copy, Debug)]
pub enum Outcome<'a> {
    /// The token endpoint answered: the status, the body (`None` when larger than
    /// [`response::MAX_BODY_BYTES`]) and headers.
    Answer {
        /// HTTP status.
        status: u16,
        /// The body text.
        body: Option<&'a str>,
        /// The headers the engine reads.
        headers: AnswerHeaders<'a>,
    },
    /// The request produced no answer.
    Failed {
        /// It hit `timeoutMs`.
        timeout: bool,
        /// What the runtime said (redacted here).
        message: &'a str,
    },
    /// A store read: the plaintext value, or `None` (absent, or did not unseal).
    Value(Option<&'a str>),
    /// A store `add`: whether this client set the value.
    Added(bool),
    /// A store write or delete finished.
    Done,
    /// A store call threw, rejected or timed out.
    StoreFailed,
}

/// The answer to a call.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Settled now.
    Ready(Result<Token, Error>),
    /// Wait for [`Action::Settle`] of this flight.
    Wait(FlightId),
}

/// What the driver may answer by itself, without entering the engine (a JS-side memo).
#[derive(Clone, Debug, PartialEq)]
pub struct Memo<'a> {
    /// Calls before this instant (ms) get this token.
    pub serve: Option<(&'a Token, f64)>,
    /// Otherwise, while no token is served, calls wait for this flight.
    pub join: Option<FlightId>,
}

#[derive(Clone, Debug)]
enum Step {
    ReadEntry,
    /// The entry read again after winning the lease (double-checked: another holder
    /// may have written it since our first read).
    Recheck,
    /// The shared quota block, read before each request.
    QuotaRead,
    LeaseRead,
    LeaseWrite(String),
    LeaseVerify(String),
    LeaseAdd(String),
    Send {
        sent_at: f64,
    },
    Write(Token),
}

#[derive(Clone, Debug)]
enum Phase {
    /// Waiting for the outcome of `op` until `deadline`.
    Op { op: OpId, deadline: f64, step: Step },
    /// Sleeping until `until`, then sending (`send`) or reading the store again.
    Sleep { until: f64, send: bool },
}

#[derive(Clone, Debug)]
struct Flight {
    id: FlightId,
    phase: Phase,
    started: f64,
    retries: u32,
    /// Our lease value while we hold the lease.
    lease: Option<String>,
    /// Until when this flight waits in the store for a lease holder's token.
    wait_until: Option<f64>,
    /// Its callers were already settled (with a valid token from the store).
    settled: bool,
    /// A renewal of a valid token: until this instant callers wait for it; then (or at
    /// its first failed attempt) they are given the valid token.
    stale_at: Option<f64>,
    /// Sent again because its token was rejected meanwhile.
    restarted: bool,
    /// Its callers were given the valid token (at its first failure or halfway), with
    /// the one `stale_served` event of this renewal.
    served_stale: bool,
    /// A stored token too near its expiry to be handed out at once (less than
    /// [`MIN_VALIDITY_MS`] left): served if the flight fails, rather than the error.
    fallback: Option<Token>,
}

/// The token lifecycle of one client. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct Engine {
    policy: Policy,
    rng: u64,
    next_id: u32,
    token: Option<Token>,
    /// A token a resource server rejected: never adopted again from the store.
    rejected: Option<String>,
    /// No renewal starts before this (backoff after a failed renewal, a lease lost).
    renew_after: f64,
    failures: u32,
    negative: Option<(Error, f64)>,
    quota_until: f64,
    quota: Vec<Bucket>,
    store_on: bool,
    flight: Option<Flight>,
    actions: VecDeque<Action>,
    /// It serves a static token ([`Engine::serve_static`]).
    fixed: bool,
}

impl Engine {
    /// A new engine; `seed` drives the backoff jitter and lease ids (any value; the
    /// JS driver passes random bits, the simulation its seed).
    pub fn new(policy: Policy, seed: u64) -> Engine {
        let store_on = policy.store.is_some();
        Engine {
            policy,
            rng: seed | 1,
            next_id: 0,
            token: None,
            rejected: None,
            renew_after: f64::NEG_INFINITY,
            failures: 0,
            negative: None,
            quota_until: f64::NEG_INFINITY,
            quota: Vec::new(),
            store_on,
            flight: None,
            actions: VecDeque::new(),
            fixed: false,
        }
    }

    /// Makes this engine serve `access_token`, a static token, and nothing else: until
    /// its JWT `exp` (an opaque token until [`NO_EXPIRY_MS`]), then every call fails
    /// with [`Error::TokenExpired`] from the negative cache, which never ends: no flight
    /// and no store operation ever follow. `clear()` and a 401 change nothing.
    pub fn serve_static(&mut self, access_token: &str) {
        self.fixed = true;
        self.negative = Some((Error::TokenExpired, f64::INFINITY));
        self.token = Some(Token {
            access_token: access_token.to_owned(),
            token_type: "Bearer".to_owned(),
            obtained_at_ms: 0.0,
            expires_at_ms: response::jwt_exp(access_token)
                .map_or(NO_EXPIRY_MS, |exp| (exp * 1000.0).min(NO_EXPIRY_MS)),
            scope: None,
        });
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The token the engine holds (valid or not), if any.
    pub fn token(&self) -> Option<&Token> {
        self.token.as_ref()
    }

    /// The last quota buckets the token endpoint reported.
    pub fn quota(&self) -> &[Bucket] {
        &self.quota
    }

    /// Until when (ms) a quota bucket blocks requests, if it does at `now_ms`.
    pub fn quota_blocked_until(&self, now_ms: f64) -> Option<f64> {
        (now_ms < self.quota_until).then_some(self.quota_until)
    }

    /// Another client of the same client id and token endpoint saw a quota bucket
    /// empty until `until_ms` (quota blocks are shared per process).
    pub fn block_quota(&mut self, until_ms: f64) {
        self.quota_until = self.quota_until.max(until_ms);
    }

    /// The next action to perform.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`Engine::handle_timeout`] must be called next, if anything is pending.
    pub fn poll_timeout(&self) -> Option<f64> {
        self.flight.as_ref().map(|f| {
            let next = match &f.phase {
                Phase::Op { deadline, .. } => *deadline,
                Phase::Sleep { until, .. } => *until,
            };
            f.stale_at.map_or(next, |at| next.min(at))
        })
    }

    /// Whether a flight is under way.
    pub fn is_busy(&self) -> bool {
        self.flight.is_some()
    }

    /// What calls may be answered without entering the engine, at `now_ms`.
    ///
    /// A fresh token is served until it is due. A due token is served until it expires
    /// while a renewal is under way or may not start yet (backoff, lease held elsewhere,
    /// quota, negative cache); otherwise the next call must come here to start one.
    pub fn memo(&self, now_ms: f64) -> Memo<'_> {
        let serve = self.token.as_ref().and_then(|t| {
            let fresh = fresh_until(t, self.policy.leeway_ms);
            let until = if let Some(f) = &self.flight {
                match f.stale_at {
                    // Callers wait for the renewal until then.
                    Some(at) if now_ms < at => fresh,
                    _ => usable_until(t),
                }
            } else {
                fresh.max(self.renew_blocked_until(now_ms))
            }
            .min(usable_until(t));
            (now_ms < until).then_some((t, until))
        });
        let join = match (&serve, &self.flight) {
            (None, Some(f)) => Some(f.id),
            _ => None,
        };
        Memo { serve, join }
    }

    /// Until when no renewal may start (ms): backoff, a lease held elsewhere, a quota
    /// block, the negative cache.
    fn renew_blocked_until(&self, now_ms: f64) -> f64 {
        let negative = match &self.negative {
            Some((_, until)) if now_ms < *until => *until,
            _ => f64::NEG_INFINITY,
        };
        self.renew_after.max(self.quota_until).max(negative)
    }

    /// A caller wants a token at `now_ms`.
    pub fn call(&mut self, now_ms: f64) -> Verdict {
        self.handle_timeout(now_ms);
        if let Some(t) = self.valid_token(now_ms) {
            let t = t.clone();
            if is_fresh(&t, now_ms, self.policy.leeway_ms) {
                return Verdict::Ready(Ok(t));
            }
            // Due: wait for the renewal, but only until its first failed attempt or
            // half the remaining validity (API.md "Serve-stale").
            if let Some(f) = &self.flight {
                if f.stale_at.is_some_and(|at| now_ms < at) {
                    return Verdict::Wait(f.id);
                }
            } else if self.may_renew(now_ms) {
                let stale_at = now_ms + (usable_until(&t) - now_ms) / 2.0;
                let id = self.start_flight(now_ms);
                if let Some(f) = self.flight.as_mut().filter(|f| f.id == id) {
                    f.stale_at = Some(stale_at);
                    return Verdict::Wait(id);
                }
            }
            return Verdict::Ready(Ok(t));
        }
        self.wait(now_ms)
    }

    /// A resource server answered 401 to `access_token` (`client.fetch`): that token is
    /// dropped and never taken from the store again; the caller gets a newer token, or
    /// waits for a new one.
    pub fn reject(&mut self, now_ms: f64, access_token: &str) -> Verdict {
        self.handle_timeout(now_ms);
        if !self.fixed
            && self
                .token
                .as_ref()
                .is_some_and(|t| t.access_token == access_token)
        {
            self.token = None;
        }
        self.rejected = Some(access_token.to_owned());
        self.call(now_ms)
    }

    /// Forgets the token (and deletes the stored entry) and lifts the negative cache.
    /// A flight under way goes on (its token is new), but no longer trusts the store.
    /// A quota block stays: it belongs to the client id, not to the token.
    pub fn clear(&mut self, now_ms: f64) {
        if self.fixed {
            return;
        }
        self.handle_timeout(now_ms);
        self.token = None;
        self.negative = None;
        self.failures = 0;
        self.renew_after = f64::NEG_INFINITY;
        if self.store_on {
            let op = self.next_op();
            self.actions.push_back(Action::Delete {
                op,
                key: Key::Entry,
            });
        }
        let in_store = matches!(
            self.flight.as_ref().map(|f| &f.phase),
            Some(Phase::Op {
                step: Step::ReadEntry
                    | Step::Recheck
                    | Step::LeaseRead
                    | Step::LeaseWrite(_)
                    | Step::LeaseVerify(_)
                    | Step::LeaseAdd(_),
                ..
            }) | Some(Phase::Sleep { send: false, .. })
        );
        if in_store {
            if let Some(mut f) = self.flight.take() {
                self.send(&mut f, now_ms);
                self.put_back(f);
            }
        }
    }

    /// Advances time to `now_ms`: operations past their deadline fail, sleeps end.
    pub fn handle_timeout(&mut self, now_ms: f64) {
        // Each turn either ends the flight or moves it to a later deadline, and a flight
        // has a bounded number of steps, so this ends.
        for _ in 0..64 {
            if self
                .flight
                .as_ref()
                .and_then(|f| f.stale_at)
                .is_some_and(|at| at <= now_ms)
            {
                self.serve_stale(now_ms, None);
            }
            let Some(f) = self.flight.as_ref() else {
                return;
            };
            match &f.phase {
                Phase::Op { op, deadline, .. } if *deadline <= now_ms => {
                    let op = *op;
                    let timed_out = match &f.phase {
                        Phase::Op {
                            step: Step::Send { .. },
                            ..
                        } => Outcome::Failed {
                            timeout: true,
                            message: "",
                        },
                        _ => Outcome::StoreFailed,
                    };
                    self.handle(now_ms, op, timed_out);
                }
                Phase::Sleep { until, send } if *until <= now_ms => {
                    let send = *send;
                    if let Some(mut f) = self.flight.take() {
                        if send {
                            self.send(&mut f, now_ms);
                        } else {
                            self.read_entry(&mut f, now_ms);
                        }
                        self.put_back(f);
                    }
                }
                _ => return,
            }
        }
    }

    /// `op` ended with `outcome` at `now_ms`. Outcomes of operations the engine no longer
    /// waits for (past their deadline, fire-and-forget writes) are ignored.
    pub fn handle(&mut self, now_ms: f64, op: OpId, outcome: Outcome<'_>) {
        let Some(mut f) = self.flight.take() else {
            return;
        };
        let step = match &f.phase {
            Phase::Op { op: o, step, .. } if *o == op => step.clone(),
            _ => {
                self.flight = Some(f);
                return;
            }
        };
        match step {
            Step::ReadEntry => self.on_entry(&mut f, now_ms, outcome),
            Step::Recheck => self.on_recheck(&mut f, now_ms, outcome),
            Step::QuotaRead => {
                if let Outcome::Value(Some(v)) = outcome {
                    if let Some(until) = crate::encoding::parse_digits(v) {
                        // Never longer than a block this client could have been told.
                        let latest = now_ms + quota::MAX_BLOCK_SECONDS as f64 * 1000.0;
                        self.quota_until = self.quota_until.max((until as f64).min(latest));
                    }
                }
                self.send_now(&mut f, now_ms);
            }
            Step::LeaseAdd(value) => match outcome {
                Outcome::Added(true) => self.lease_won(&mut f, now_ms, value),
                Outcome::Added(false) => self.lease_lost(&mut f, now_ms),
                _ => self.lease_broken(&mut f, now_ms, "add"),
            },
            Step::LeaseRead => match outcome {
                Outcome::Value(Some(v)) if entry::lease_expiry(v) > now_ms => {
                    self.lease_lost(&mut f, now_ms)
                }
                Outcome::Value(_) => {
                    let value = self.lease_value(now_ms);
                    let op = self.next_op();
                    self.actions.push_back(Action::Put {
                        op,
                        key: Key::Lease,
                        value: value.clone(),
                        ttl_seconds: ttl_seconds(self.policy.lease_ms()),
                    });
                    self.wait_op(&mut f, op, now_ms, Step::LeaseWrite(value));
                }
                _ => self.lease_broken(&mut f, now_ms, "get"),
            },
            Step::LeaseWrite(value) => match outcome {
                Outcome::Done => {
                    self.get(&mut f, now_ms, Key::Lease, Step::LeaseVerify(value));
                }
                _ => self.lease_broken(&mut f, now_ms, "put"),
            },
            Step::LeaseVerify(value) => match outcome {
                Outcome::Value(Some(v)) if v == value => self.lease_won(&mut f, now_ms, value),
                Outcome::Value(Some(_)) => self.lease_lost(&mut f, now_ms),
                Outcome::Value(None) => {
                    // It kept nothing we wrote (the Cache API on *.workers.dev): a store
                    // that never returns writes is a miss-only store. Stop using it.
                    self.store_on = false;
                    self.event(Event::StoreError { operation: "lease" });
                    self.send(&mut f, now_ms);
                }
                _ => self.lease_broken(&mut f, now_ms, "get"),
            },
            Step::Send { sent_at } => self.on_answer(&mut f, now_ms, sent_at, outcome),
            Step::Write(token) => {
                if matches!(outcome, Outcome::StoreFailed) {
                    self.event(Event::StoreError { operation: "put" });
                }
                // Given back only now that the entry is written: a client that takes
                // the lease next finds the token on its re-read.
                self.release(&mut f);
                self.finish(f, now_ms, Ok(token));
                return;
            }
        }
        self.put_back(f);
    }

    /// Keeps `f` as the flight unless it has ended.
    fn put_back(&mut self, f: Flight) {
        if self.flight.is_none() && !f.is_done() {
            self.flight = Some(f);
        }
    }

    // ---- calls -------------------------------------------------------------------

    fn valid_token(&self, now_ms: f64) -> Option<&Token> {
        self.token.as_ref().filter(|t| now_ms < usable_until(t))
    }

    fn may_renew(&self, now_ms: f64) -> bool {
        self.flight.is_none() && now_ms >= self.renew_blocked_until(now_ms)
    }

    fn wait(&mut self, now_ms: f64) -> Verdict {
        if let Some(f) = &self.flight {
            return Verdict::Wait(f.id);
        }
        if let Some((err, until)) = &self.negative {
            if now_ms < *until {
                let err = err.clone();
                self.event(Event::NegativeCache {
                    code: err.code().to_owned(),
                });
                return Verdict::Ready(Err(err));
            }
            self.negative = None;
        }
        // Blocked: fail at once, unless the store may hold a token (no request is
        // made for it; send() fails fast when it comes to a request).
        if now_ms < self.quota_until && !self.store_on {
            return Verdict::Ready(Err(self.quota_error(now_ms)));
        }
        let id = self.start_flight(now_ms);
        Verdict::Wait(id)
    }

    fn quota_error(&self, now_ms: f64) -> Error {
        Error::QuotaExceeded {
            retry_after_seconds: crate::num::ceil((self.quota_until - now_ms) / 1000.0).max(0.0)
                as u64,
        }
    }

    // ---- flights -----------------------------------------------------------------

    fn next_op(&mut self) -> u32 {
        self.next_id = self.next_id.wrapping_add(1);
        self.next_id
    }

    fn random(&mut self) -> u64 {
        // xorshift64*: jitter and lease ids need no more.
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn event(&mut self, e: Event) {
        self.actions.push_back(Action::Event(e));
    }

    fn start_flight(&mut self, now_ms: f64) -> FlightId {
        let id = self.next_op();
        let mut f = Flight {
            id,
            phase: Phase::Sleep {
                until: now_ms,
                send: true,
            },
            started: now_ms,
            retries: 0,
            lease: None,
            wait_until: None,
            settled: false,
            stale_at: None,
            restarted: false,
            served_stale: false,
            fallback: None,
        };
        if self.store_on {
            self.read_entry(&mut f, now_ms);
        } else {
            self.send(&mut f, now_ms);
        }
        self.put_back(f);
        id
    }

    fn wait_op(&self, f: &mut Flight, op: OpId, now_ms: f64, step: Step) {
        let bound = match step {
            Step::Send { .. } => self.policy.send_bound(),
            _ => self.policy.store_bound(),
        };
        f.phase = Phase::Op {
            op,
            deadline: now_ms + bound,
            step,
        };
    }

    /// Reads `key` from the store; its outcome moves the flight on as `step` says.
    fn get(&mut self, f: &mut Flight, now_ms: f64, key: Key, step: Step) {
        let op = self.next_op();
        self.actions.push_back(Action::Get { op, key });
        self.wait_op(f, op, now_ms, step);
    }

    fn read_entry(&mut self, f: &mut Flight, now_ms: f64) {
        self.get(f, now_ms, Key::Entry, Step::ReadEntry);
    }

    fn on_entry(&mut self, f: &mut Flight, now_ms: f64, outcome: Outcome<'_>) {
        let text = match outcome {
            Outcome::Value(v) => v,
            _ => {
                // A failing store: no lease, no waiting.
                self.event(Event::StoreError { operation: "get" });
                return self.send(f, now_ms);
            }
        };
        let stored = text
            .and_then(entry::decode)
            .filter(|t| self.rejected.as_deref() != Some(t.access_token.as_str()));
        match stored {
            Some(t) if is_fresh(&t, now_ms, self.policy.leeway_ms) => {
                self.adopt(t.clone());
                self.event(Event::Token {
                    source: Source::Store,
                    duration_ms: now_ms - f.started,
                });
                self.settle(f, Ok(t));
                f.phase = Phase::Sleep {
                    until: f64::INFINITY,
                    send: false,
                };
                f.settled = true;
                f.mark_done();
            }
            Some(t) if now_ms + MIN_VALIDITY_MS < t.expires_at_ms => {
                // Valid but due: serve it now; renew it if we win the lease.
                self.adopt(t.clone());
                if !f.settled {
                    self.settle(f, Ok(t));
                    f.settled = true;
                }
                self.take_lease(f, now_ms);
            }
            other => {
                f.fallback = other.filter(|t| now_ms < usable_until(t));
                if f.wait_until.is_some_and(|until| now_ms >= until) {
                    // The holder did not deliver within the lease: fetch our own.
                    return self.send(f, now_ms);
                }
                // Each look tries the lease again: when the holder died, exactly one
                // waiter takes the lapsed lease (found by the Durable Object tests).
                self.take_lease(f, now_ms);
            }
        }
    }

    fn lease_value(&mut self, now_ms: f64) -> String {
        let id = self.random();
        entry::lease_value(id, now_ms + self.policy.lease_ms())
    }

    fn take_lease(&mut self, f: &mut Flight, now_ms: f64) {
        let Some(caps) = self.policy.store else {
            return self.send(f, now_ms);
        };
        if caps.atomic_add {
            let op = self.next_op();
            let value = self.lease_value(now_ms);
            self.actions.push_back(Action::Add {
                op,
                key: Key::Lease,
                value: value.clone(),
                ttl_ms: self.policy.lease_ms() as u64,
            });
            self.wait_op(f, op, now_ms, Step::LeaseAdd(value));
        } else {
            self.get(f, now_ms, Key::Lease, Step::LeaseRead);
        }
    }

    fn lease_won(&mut self, f: &mut Flight, now_ms: f64, value: String) {
        f.lease = Some(value);
        self.event(Event::Lease {
            state: LeaseState::Taken,
        });
        self.get(f, now_ms, Key::Entry, Step::Recheck);
    }

    fn on_recheck(&mut self, f: &mut Flight, now_ms: f64, outcome: Outcome<'_>) {
        let fresh = match outcome {
            Outcome::Value(Some(text)) => entry::decode(text).filter(|t| {
                is_fresh(t, now_ms, self.policy.leeway_ms)
                    && self.rejected.as_deref() != Some(t.access_token.as_str())
            }),
            _ => None,
        };
        match fresh {
            Some(t) => {
                self.adopt(t.clone());
                self.event(Event::Token {
                    source: Source::Store,
                    duration_ms: now_ms - f.started,
                });
                self.release(f);
                let done = core::mem::replace(f, Flight::done());
                self.finish(done, now_ms, Ok(t));
            }
            None => self.send(f, now_ms),
        }
    }

    /// A store that fails while taking the lease must not make anyone wait.
    fn lease_broken(&mut self, f: &mut Flight, now_ms: f64, operation: &'static str) {
        self.event(Event::StoreError { operation });
        self.send(f, now_ms);
    }

    fn lease_lost(&mut self, f: &mut Flight, now_ms: f64) {
        self.event(Event::Lease {
            state: LeaseState::Waited,
        });
        if let Some(t) = self.valid_token(now_ms).cloned() {
            // We serve a valid token; the holder renews it. Look again later. Callers
            // waiting on this renewal get the valid token (found by the simulation,
            // seed 34: they were never settled).
            self.settle(f, Ok(t));
            let hold = self.token.as_ref().map_or(now_ms, |t| {
                now_ms + self.policy.lease_ms().min((t.expires_at_ms - now_ms) / 2.0)
            });
            self.renew_after = self.renew_after.max(hold);
            f.mark_done();
            return;
        }
        if f.wait_until.is_none() {
            f.wait_until = Some(now_ms + 2.0 * self.policy.lease_ms());
        }
        self.poll(f, now_ms);
    }

    fn poll(&mut self, f: &mut Flight, now_ms: f64) {
        let until = f.wait_until.unwrap_or(now_ms);
        f.phase = Phase::Sleep {
            until: (now_ms + POLL_MS).min(until.max(now_ms)),
            send: false,
        };
    }

    /// Sends the request; with a store, after reading the quota block that another client
    /// may have written there.
    fn send(&mut self, f: &mut Flight, now_ms: f64) {
        if self.store_on && now_ms >= self.quota_until {
            return self.get(f, now_ms, Key::Quota, Step::QuotaRead);
        }
        self.send_now(f, now_ms);
    }

    fn send_now(&mut self, f: &mut Flight, now_ms: f64) {
        if now_ms < self.quota_until {
            let err = self.quota_error(now_ms);
            return self.fail(f, now_ms, err);
        }
        let op = self.next_op();
        self.actions.push_back(Action::Send { op });
        self.wait_op(f, op, now_ms, Step::Send { sent_at: now_ms });
    }

    fn on_answer(&mut self, f: &mut Flight, now_ms: f64, sent_at: f64, outcome: Outcome<'_>) {
        let (result, retry_after) = match outcome {
            Outcome::Answer {
                status,
                body,
                headers,
            } => {
                self.read_quota(now_ms, &headers);
                let date_ms = headers.date_ms;
                let parsed = response::parse(
                    ParsedAnswer {
                        status,
                        body,
                        sent_at_ms: sent_at,
                        date_ms,
                    },
                    &self.policy.secret,
                );
                (parsed, headers.retry_after_ms)
            }
            Outcome::Failed { timeout: true, .. } => (
                Err(Error::Timeout {
                    after_ms: self.policy.timeout_ms,
                }),
                None,
            ),
            Outcome::Failed { message, .. } => (
                Err(Error::Network {
                    message: self.policy.secret.redact(message),
                }),
                None,
            ),
            // The driver could not build the request (a private key WebCrypto refused):
            // its reason, never retried.
            Outcome::Value(Some(reason)) => (Err(Error::config(reason)), None),
            _ => (
                Err(Error::Network {
                    message: "the driver reported a store outcome for a request".to_owned(),
                }),
                None,
            ),
        };
        match result {
            // Expired on arrival (`expires_in: 0`, a JWT `exp` already past): never
            // handed out, and not retried (the server would answer the same).
            Ok(token) if usable_until(&token) <= now_ms => {
                let status = match outcome {
                    Outcome::Answer { status, .. } => status,
                    _ => 200,
                };
                self.fail(
                    f,
                    now_ms,
                    Error::InvalidResponse {
                        status,
                        reason: "the token had expired when it arrived",
                    },
                )
            }
            Ok(token) => self.obtained(f, now_ms, token),
            Err(err) => {
                if is_negative(&err) || now_ms < self.quota_until {
                    return self.fail(f, now_ms, err);
                }
                if f.stale_at.is_some() {
                    // The renewal's first failure: its callers get the valid token now;
                    // the renewal goes on in the background.
                    self.flight = Some(core::mem::replace(f, Flight::done()));
                    self.serve_stale(now_ms, Some(err.code()));
                    if let Some(back) = self.flight.take() {
                        *f = back;
                    }
                }
                let random = (self.random() >> 11) as f64 / (1u64 << 53) as f64;
                match retry::decide(
                    &err,
                    f.retries,
                    self.policy.max_retries,
                    retry_after,
                    random,
                ) {
                    Decision::Stop => self.fail(f, now_ms, err),
                    Decision::RetryIn(delay_ms) => {
                        f.retries += 1;
                        self.event(Event::Retry {
                            attempt: f.retries,
                            delay_ms,
                            reason: err.code().to_owned(),
                        });
                        f.phase = Phase::Sleep {
                            until: now_ms + delay_ms,
                            send: true,
                        };
                    }
                }
            }
        }
    }

    fn read_quota(&mut self, now_ms: f64, h: &AnswerHeaders<'_>) {
        let mut buckets = Vec::new();
        for v in [h.client_quota, h.organization_quota].into_iter().flatten() {
            buckets.extend(quota::parse_quota_header(v));
        }
        if let Some((l, r, t)) = h.rate_limit {
            buckets.extend(quota::parse_rate_limit(l, r, t, now_ms));
        }
        if buckets.is_empty() {
            return;
        }
        if let Some(until) = quota::blocked_until(&buckets, now_ms) {
            if until > self.quota_until && self.store_on {
                // Shared with the clients of other processes through the store; nobody
                // waits for the write.
                let op = self.next_op();
                let mut value = String::new();
                crate::encoding::push_decimal(&mut value, crate::num::ceil(until) as u64);
                self.actions.push_back(Action::Put {
                    op,
                    key: Key::Quota,
                    value,
                    ttl_seconds: ttl_seconds(until - now_ms),
                });
            }
            self.quota_until = self.quota_until.max(until);
        }
        self.event(Event::Quota {
            buckets: buckets.clone(),
        });
        self.quota = buckets;
    }

    fn obtained(&mut self, f: &mut Flight, now_ms: f64, token: Token) {
        self.adopt(token.clone());
        self.event(Event::Token {
            source: Source::Endpoint,
            duration_ms: now_ms - f.started,
        });
        if self.store_on {
            let op = self.next_op();
            self.actions.push_back(Action::Put {
                op,
                key: Key::Entry,
                value: entry::encode(&token),
                ttl_seconds: ttl_seconds(token.expires_at_ms - now_ms),
            });
            // Callers wait for the write (API.md: getToken resolves after put settles),
            // but never so long that the token expires meanwhile (found by the
            // simulation, seed 15: a hanging store and a 2 s token).
            let latest = now_ms + (token.expires_at_ms - now_ms) / 2.0;
            self.wait_op(f, op, now_ms, Step::Write(token));
            if let Phase::Op { deadline, .. } = &mut f.phase {
                *deadline = deadline.min(latest);
            }
        } else {
            self.release(f);
            let f = core::mem::replace(f, Flight::done());
            self.finish(f, now_ms, Ok(token));
        }
    }

    fn fail(&mut self, f: &mut Flight, now_ms: f64, err: Error) {
        self.release(f);
        let f = core::mem::replace(f, Flight::done());
        self.finish(f, now_ms, Err(err));
    }

    /// Gives the lease back, if held; nobody waits for it.
    fn release(&mut self, f: &mut Flight) {
        let Some(value) = f.lease.take() else {
            return;
        };
        let op = self.next_op();
        let delete = self.policy.store.is_some_and(|s| s.delete);
        self.actions.push_back(if delete {
            Action::Delete {
                op,
                key: Key::Lease,
            }
        } else {
            Action::Put {
                op,
                key: Key::Lease,
                value: entry::released_lease(&value),
                ttl_seconds: 60,
            }
        });
        self.event(Event::Lease {
            state: LeaseState::Released,
        });
    }

    fn adopt(&mut self, token: Token) {
        match &self.token {
            Some(t) if t.expires_at_ms > token.expires_at_ms => {}
            _ => self.token = Some(token),
        }
    }

    /// The flight ends; its callers get `result`, or the valid token when it failed.
    fn finish(&mut self, mut f: Flight, now_ms: f64, result: Result<Token, Error>) {
        self.flight = None;
        if let Ok(t) = &result {
            if self.rejected.as_deref() == Some(t.access_token.as_str()) && !f.restarted {
                // A resource server rejected this very token while it was being stored
                // (seed 34): its callers want another one. Once; a server that keeps
                // answering with it is believed.
                f.restarted = true;
                f.retries = 0;
                f.stale_at = None;
                self.send(&mut f, now_ms);
                self.put_back(f);
                return;
            }
        }
        let outcome = match result {
            Ok(t) => {
                self.failures = 0;
                self.renew_after = f64::NEG_INFINITY;
                Ok(t)
            }
            Err(err) => {
                self.failures = self.failures.saturating_add(1);
                let step = self.failures.saturating_sub(1);
                let jitter = (self.random() >> 11) as f64 / (1u64 << 53) as f64;
                self.renew_after = now_ms + retry::backoff(step, jitter);
                if is_negative(&err) {
                    self.negative = Some((err.clone(), now_ms + self.policy.negative_cache_ms));
                }
                if let Some(t) = f.fallback.take().filter(|t| now_ms < usable_until(t)) {
                    if self.valid_token(now_ms).is_none() {
                        self.adopt(t);
                    }
                }
                match self.valid_token(now_ms).cloned() {
                    Some(t) if f.served_stale => Ok(t),
                    Some(t) => {
                        // Once per renewal: not when serve_stale already gave it out.
                        if f.stale_at.is_some() {
                            self.event(Event::StaleServed {
                                reason: err.code().to_owned(),
                                expires_at_ms: t.expires_at_ms,
                            });
                        }
                        Ok(t)
                    }
                    None => Err(err),
                }
            }
        };
        // Always: callers may have joined after an early settle (a 401 dropped the
        // token the flight had served; found by the simulation, seed 4427).
        self.settle(&mut f, outcome);
    }

    /// Ends the renewal's wait: its callers get the valid token (if there still is one;
    /// otherwise they keep waiting for the flight).
    fn serve_stale(&mut self, now_ms: f64, reason: Option<&str>) {
        let Some(t) = self.valid_token(now_ms).cloned() else {
            if let Some(f) = self.flight.as_mut() {
                f.stale_at = None;
            }
            return;
        };
        let Some(mut f) = self.flight.take() else {
            return;
        };
        f.stale_at = None;
        f.served_stale = true;
        self.event(Event::StaleServed {
            reason: reason.unwrap_or("timeout").to_owned(),
            expires_at_ms: t.expires_at_ms,
        });
        self.settle(&mut f, Ok(t));
        f.settled = false;
        self.flight = Some(f);
    }

    fn settle(&mut self, f: &mut Flight, outcome: Result<Token, Error>) {
        f.settled = true;
        self.actions.push_back(Action::Settle {
            flight: f.id,
            outcome,
        });
    }
}

impl Flight {
    /// A placeholder for a flight that has ended (its id 0 is never used).
    fn done() -> Flight {
        Flight {
            id: 0,
            phase: Phase::Sleep {
                until: f64::NAN,
                send: false,
            },
            started: 0.0,
            retries: 0,
            lease: None,
            wait_until: None,
            settled: true,
            stale_at: None,
            restarted: false,
            served_stale: false,
            fallback: None,
        }
    }

    fn mark_done(&mut self) {
        self.id = 0;
    }

    fn is_done(&self) -> bool {
        self.id == 0
    }
}

fn is_negative(err: &Error) -> bool {
    matches!(err, Error::OAuth { error, .. } if matches!(error.as_str(), "invalid_client" | "unauthorized_client" | "access_denied" | "invalid_grant"))
}

/// A store TTL in whole seconds: at least 60 (the Workers KV minimum).
fn ttl_seconds(ms: f64) -> u64 {
    crate::num::ceil(ms / 1000.0).max(60.0) as u64
}

#[cfg(test)]
mod tests;

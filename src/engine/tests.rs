//! Scenario tests of single decisions; `tests/sim` checks the invariants over many
//! thousands of random schedules.

use super::*;
use crate::config::{Config, ConfigInput};

const T0: f64 = 1_700_000_000_000.0;

fn policy(leeway_s: f64, retries: u32, store: Option<StoreCaps>) -> Policy {
    let config = Config::new(ConfigInput {
        client_id: Some("id".into()),
        client_secret: Some(ClientSecret::new("s3cret")),
        refresh_leeway_seconds: Some(leeway_s),
        max_retries: Some(f64::from(retries)),
        timeout_ms: Some(1000.0),
        ..ConfigInput::default()
    })
    .unwrap();
    Policy::new(&config, store)
}

fn drain(e: &mut Engine) -> Vec<Action> {
    std::iter::from_fn(|| e.poll_action()).collect()
}

fn sent(actions: &[Action]) -> Option<OpId> {
    actions.iter().find_map(|a| match a {
        Action::Send { op } => Some(*op),
        _ => None,
    })
}

/// A new engine (leeway 60 s, no store) whose first call has sent its request.
fn first_send(retries: u32) -> (Engine, OpId) {
    let mut e = Engine::new(policy(60.0, retries, None), 1);
    e.call(T0);
    let op = sent(&drain(&mut e)).unwrap();
    (e, op)
}

fn ok(body: &str) -> Outcome<'_> {
    Outcome::Answer {
        status: 200,
        body: Some(body),
        headers: AnswerHeaders::default(),
    }
}

fn status(status: u16, body: &str) -> Outcome<'_> {
    with_headers(status, body, AnswerHeaders::default())
}

fn with_headers<'a>(status: u16, body: &'a str, headers: AnswerHeaders<'a>) -> Outcome<'a> {
    Outcome::Answer {
        status,
        body: Some(body),
        headers,
    }
}

/// The outcomes settled, in order (a flight may settle its callers early and again
/// when it ends: the second settles nobody and is left out here).
fn settled(actions: &[Action]) -> Vec<Result<String, String>> {
    let mut all: Vec<Result<String, String>> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Settle { outcome, .. } => Some(match outcome {
                Ok(t) => Ok(t.access_token.clone()),
                Err(e) => Err(e.code().to_owned()),
            }),
            _ => None,
        })
        .collect();
    all.dedup();
    all
}

/// A client with token "a" (expires_in 4 s) obtained at T0.
fn with_token(leeway_s: f64, retries: u32) -> Engine {
    let mut e = Engine::new(policy(leeway_s, retries, None), 7);
    assert!(matches!(e.call(T0), Verdict::Wait(_)));
    let op = sent(&drain(&mut e)).unwrap();
    e.handle(T0, op, ok(r#"{"access_token":"a","expires_in":4}"#));
    assert_eq!(settled(&drain(&mut e)), vec![Ok("a".to_owned())]);
    e
}

#[test]
fn a_failed_early_renewal_serves_the_valid_token() {
    // Issue 8, input 1: expires_in 4, default leeway (effective 2 s), maxRetries 0;
    // 2.5 s after issue the endpoint answers 503: the token (valid 1.5 s more) is served.
    for failure in [
        status(503, "unavailable"),
        Outcome::Failed {
            timeout: false,
            message: "reset",
        },
        Outcome::Failed {
            timeout: true,
            message: "",
        },
        with_headers(
            429,
            r#"{"error":"too_many_requests"}"#,
            AnswerHeaders {
                retry_after_ms: Some(1000.0),
                ..AnswerHeaders::default()
            },
        ),
    ] {
        let mut e = with_token(60.0, 0);
        let now = T0 + 2_500.0;
        assert!(
            matches!(e.call(now), Verdict::Wait(_)),
            "the caller waits for the renewal"
        );
        let op = sent(&drain(&mut e)).expect("a renewal");
        e.handle(now + 10.0, op, failure);
        let actions = drain(&mut e);
        assert_eq!(
            settled(&actions),
            vec![Ok("a".to_owned())],
            "the valid token, not the error"
        );
        assert_eq!(
            actions
                .iter()
                .filter(|a| matches!(a, Action::Event(Event::StaleServed { .. })))
                .count(),
            1,
            "one stale_served event for one failed renewal"
        );
        // Later calls still get "a", without a request on every call (backoff).
        let v = e.call(now + 20.0);
        assert!(matches!(v, Verdict::Ready(Ok(ref t)) if t.access_token == "a"));
        assert_eq!(
            sent(&drain(&mut e)),
            None,
            "no request before the backoff step"
        );
        // The memo serves it too until the backoff ends.
        assert!(e.memo(now + 20.0).serve.is_some());
        // Past the real expiry the failure reaches callers.
        let v = e.call(T0 + 4_000.0);
        assert!(matches!(v, Verdict::Wait(_)));
        let op = sent(&drain(&mut e)).unwrap();
        e.handle(T0 + 4_001.0, op, status(503, "down"));
        assert_eq!(settled(&drain(&mut e)), vec![Err("http_error".to_owned())]);
    }
}

#[test]
fn the_renewal_is_retried_one_backoff_step_later() {
    let mut e = with_token(60.0, 0);
    let now = T0 + 2_100.0;
    e.call(now);
    let op = sent(&drain(&mut e)).unwrap();
    e.handle(now, op, status(502, ""));
    assert_eq!(settled(&drain(&mut e)), vec![Ok("a".to_owned())]);
    // Backoff after the first failure is 125 to 250 ms.
    e.call(now + 100.0);
    assert_eq!(sent(&drain(&mut e)), None);
    assert!(matches!(e.call(now + 260.0), Verdict::Wait(_)));
    assert!(sent(&drain(&mut e)).is_some(), "the next call renews");
}

#[test]
fn a_slow_renewal_serves_the_valid_token_halfway_through_its_validity() {
    let mut e = with_token(60.0, 0);
    let now = T0 + 2_000.0; // due; usable until T0 + 3.6 s (4 s less its 0.4 s margin)
    assert!(matches!(e.call(now), Verdict::Wait(_)));
    drain(&mut e);
    assert_eq!(e.poll_timeout(), Some(now + 800.0), "halfway to T0 + 3.6 s");
    assert!(
        e.memo(now + 500.0).join.is_some(),
        "later callers join the renewal"
    );
    e.handle_timeout(now + 800.0);
    assert_eq!(settled(&drain(&mut e)), vec![Ok("a".to_owned())]);
    // The renewal goes on; callers now get the valid token at once.
    assert!(e.is_busy());
    assert!(matches!(e.call(now + 1_100.0), Verdict::Ready(Ok(_))));
    assert!(e.memo(now + 1_100.0).serve.is_some());
}

#[test]
fn a_successful_renewal_gives_its_callers_the_new_token() {
    let mut e = with_token(60.0, 0);
    let now = T0 + 2_500.0;
    assert!(matches!(e.call(now), Verdict::Wait(_)));
    let op = sent(&drain(&mut e)).unwrap();
    e.handle(now + 5.0, op, ok(r#"{"access_token":"b","expires_in":4}"#));
    assert_eq!(settled(&drain(&mut e)), vec![Ok("b".to_owned())]);
}

#[test]
fn overflowing_retry_after_stops_retrying() {
    // Issue 8, input 4: Retry-After 2^64 is the largest value: more than 60 s, stop.
    for ra in ["18446744073709551616", "61", "99999999999999999999999"] {
        let (mut e, op) = first_send(2);
        e.handle(
            T0,
            op,
            with_headers(
                429,
                "{}",
                AnswerHeaders {
                    retry_after_ms: crate::retry::parse_retry_after(ra, T0),
                    ..AnswerHeaders::default()
                },
            ),
        );
        let actions = drain(&mut e);
        assert_eq!(
            settled(&actions),
            vec![Err("http_error".to_owned())],
            "{ra}"
        );
        assert_eq!(e.poll_timeout(), None, "{ra}: no retry scheduled");
    }
}

#[test]
fn retries_follow_the_policy() {
    let (mut e, op) = first_send(2);
    e.handle(T0, op, status(500, ""));
    let actions = drain(&mut e);
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::Event(Event::Retry { attempt: 1, .. }))));
    let at = e.poll_timeout().unwrap();
    assert!(at > T0 && at <= T0 + 250.0);
    e.handle_timeout(at);
    let op = sent(&drain(&mut e)).unwrap();
    e.handle(at, op, ok(r#"{"access_token":"b","expires_in":60}"#));
    assert_eq!(settled(&drain(&mut e)), vec![Ok("b".to_owned())]);
}

#[test]
fn a_stalled_request_is_timed_out_by_the_engine() {
    let mut e = Engine::new(policy(60.0, 0, None), 1);
    e.call(T0);
    drain(&mut e);
    let deadline = e.poll_timeout().unwrap();
    assert_eq!(deadline, T0 + 1000.0 + BACKSTOP_MS);
    e.handle_timeout(deadline);
    assert_eq!(settled(&drain(&mut e)), vec![Err("timeout".to_owned())]);
    assert!(!e.is_busy());
}

#[test]
fn negative_cache_fails_fast_until_clear() {
    let (mut e, op) = first_send(2);
    e.handle(
        T0,
        op,
        status(
            401,
            r#"{"error":"invalid_client","error_description":"no"}"#,
        ),
    );
    assert_eq!(
        settled(&drain(&mut e)),
        vec![Err("invalid_client".to_owned())]
    );
    match e.call(T0 + 1000.0) {
        Verdict::Ready(Err(err)) => {
            assert_eq!(err.code(), "invalid_client");
            assert_eq!(err.status(), Some(401));
            assert_eq!(err.description(), Some("no"));
        }
        v => panic!("{v:?}"),
    }
    assert_eq!(sent(&drain(&mut e)), None);
    // After the negative-cache time a request is made again.
    assert!(matches!(e.call(T0 + 30_001.0), Verdict::Wait(_)));
    assert!(sent(&drain(&mut e)).is_some());
    e.clear(T0 + 30_002.0);
    let mut e2 = Engine::new(policy(60.0, 2, None), 1);
    e2.call(T0);
    let op = sent(&drain(&mut e2)).unwrap();
    e2.handle(T0, op, status(401, r#"{"error":"invalid_client"}"#));
    drain(&mut e2);
    e2.clear(T0 + 1.0);
    assert!(
        matches!(e2.call(T0 + 2.0), Verdict::Wait(_)),
        "clear() lifts it"
    );
}

#[test]
fn a_refused_refresh_token_is_negative_cached() {
    // User login: a revoked refresh token stays revoked; callers fail fast instead of
    // sending it again on every call.
    let (mut e, op) = first_send(2);
    e.handle(T0, op, status(400, r#"{"error":"invalid_grant"}"#));
    assert_eq!(
        settled(&drain(&mut e)),
        vec![Err("invalid_grant".to_owned())]
    );
    assert!(
        matches!(e.call(T0 + 1000.0), Verdict::Ready(Err(err)) if err.code() == "invalid_grant")
    );
    assert_eq!(sent(&drain(&mut e)), None);
    // Other client errors are not: invalid_scope is sent again.
    let (mut e, op) = first_send(2);
    e.handle(T0, op, status(400, r#"{"error":"invalid_scope"}"#));
    drain(&mut e);
    assert!(matches!(e.call(T0 + 1000.0), Verdict::Wait(_)));
}

#[test]
fn an_empty_quota_bucket_blocks_requests_until_it_resets() {
    let (mut e, op) = first_send(2);
    e.handle(
        T0,
        op,
        with_headers(
            429,
            r#"{"error":"too_many_requests"}"#,
            AnswerHeaders {
                client_quota: Some("b=per_hour;q=10;r=0;t=120"),
                ..AnswerHeaders::default()
            },
        ),
    );
    let actions = drain(&mut e);
    assert_eq!(settled(&actions), vec![Err("too_many_requests".to_owned())]);
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::Event(Event::Quota { .. }))));
    assert_eq!(e.quota()[0].remaining, 0);
    match e.call(T0 + 1000.0) {
        Verdict::Ready(Err(err)) => {
            assert_eq!(err.code(), "quota_exceeded");
            assert_eq!(err.retry_after_seconds(), Some(119));
            assert_eq!(err.status(), None);
        }
        v => panic!("{v:?}"),
    }
    e.clear(T0 + 2000.0);
    assert!(
        matches!(e.call(T0 + 2000.0), Verdict::Ready(Err(_))),
        "clear() keeps the block"
    );
    assert!(matches!(e.call(T0 + 120_000.0), Verdict::Wait(_)));
}

#[test]
fn a_rejected_token_is_renewed_and_never_reused() {
    let mut e = with_token(0.0, 0);
    assert!(
        matches!(e.reject(T0 + 10.0, "other"), Verdict::Ready(Ok(_))),
        "a newer token is served"
    );
    assert!(matches!(e.reject(T0 + 10.0, "a"), Verdict::Wait(_)));
    let op = sent(&drain(&mut e)).unwrap();
    e.handle(T0 + 20.0, op, ok(r#"{"access_token":"b","expires_in":60}"#));
    assert_eq!(settled(&drain(&mut e)), vec![Ok("b".to_owned())]);
}

fn store(atomic: bool) -> Option<StoreCaps> {
    Some(StoreCaps {
        atomic_add: atomic,
        delete: true,
        timeout_ms: 1000.0,
    })
}

/// With a store, a request is preceded by a read of the shared quota block: answer it
/// (nothing stored) and return what follows.
fn past_quota(e: &mut Engine, now: f64) -> Vec<Action> {
    let actions = drain(e);
    match actions.iter().find_map(|a| match a {
        Action::Get {
            op,
            key: Key::Quota,
        } => Some(*op),
        _ => None,
    }) {
        Some(op) => {
            e.handle(now, op, Outcome::Value(None));
            drain(e)
        }
        None => actions,
    }
}

fn op_of(actions: &[Action], want: &str) -> OpId {
    actions
        .iter()
        .find_map(|a| match (a, want) {
            (
                Action::Get {
                    op,
                    key: Key::Entry,
                },
                "get",
            ) => Some(*op),
            (
                Action::Get {
                    op,
                    key: Key::Lease,
                },
                "lease-get",
            ) => Some(*op),
            (Action::Add { op, .. }, "add") => Some(*op),
            (
                Action::Put {
                    op,
                    key: Key::Lease,
                    ..
                },
                "lease-put",
            ) => Some(*op),
            (
                Action::Put {
                    op,
                    key: Key::Entry,
                    ..
                },
                "put",
            ) => Some(*op),
            (Action::Send { op }, "send") => Some(*op),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no {want} in {actions:?}"))
}

#[test]
fn a_fresh_stored_entry_is_used_without_a_request() {
    let mut e = Engine::new(policy(60.0, 0, store(true)), 1);
    let stored = entry::encode(&Token {
        access_token: "s".into(),
        token_type: "Bearer".into(),
        obtained_at_ms: T0,
        expires_at_ms: T0 + 3_600_000.0,
        scope: None,
    });
    e.call(T0);
    let op = op_of(&drain(&mut e), "get");
    e.handle(T0 + 5.0, op, Outcome::Value(Some(&stored)));
    let actions = drain(&mut e);
    assert_eq!(settled(&actions), vec![Ok("s".to_owned())]);
    assert_eq!(sent(&actions), None);
    assert!(!e.is_busy());
}

#[test]
fn a_blocked_client_with_a_store_serves_the_stored_token_and_sends_nothing() {
    let mut e = Engine::new(policy(60.0, 0, store(true)), 1);
    e.block_quota(T0 + 120_000.0);
    let stored = entry::encode(&Token {
        access_token: "s".into(),
        token_type: "Bearer".into(),
        obtained_at_ms: T0,
        expires_at_ms: T0 + 3_600_000.0,
        scope: None,
    });
    assert!(
        matches!(e.call(T0), Verdict::Wait(_)),
        "it looks in the store"
    );
    let op = op_of(&drain(&mut e), "get");
    e.handle(T0 + 5.0, op, Outcome::Value(Some(&stored)));
    let actions = drain(&mut e);
    assert_eq!(settled(&actions), vec![Ok("s".to_owned())]);
    // Nothing stored: it comes to a request, and fails at once without one.
    let mut e = Engine::new(policy(60.0, 0, store(true)), 1);
    e.block_quota(T0 + 120_000.0);
    e.call(T0);
    let op = op_of(&drain(&mut e), "get");
    e.handle(T0 + 5.0, op, Outcome::Value(None));
    let op = op_of(&drain(&mut e), "add");
    e.handle(T0 + 6.0, op, Outcome::Added(true));
    let op = op_of(&drain(&mut e), "get");
    e.handle(T0 + 7.0, op, Outcome::Value(None));
    let actions = drain(&mut e);
    assert_eq!(sent(&actions), None);
    assert_eq!(settled(&actions), vec![Err("quota_exceeded".to_owned())]);
}

#[test]
fn a_stored_token_near_expiry_is_served_when_the_flight_fails() {
    // 3 s left: too little to hand out at once (MIN_VALIDITY_MS), but better than
    // the error when no new token can be had (here: a quota block).
    let near = entry::encode(&Token {
        access_token: "near".into(),
        token_type: "Bearer".into(),
        obtained_at_ms: T0 - 57_000.0,
        expires_at_ms: T0 + 3_000.0,
        scope: None,
    });
    let mut e = Engine::new(policy(60.0, 0, store(true)), 1);
    e.block_quota(T0 + 120_000.0);
    e.call(T0);
    let op = op_of(&drain(&mut e), "get");
    e.handle(T0 + 5.0, op, Outcome::Value(Some(&near)));
    let op = op_of(&drain(&mut e), "add");
    e.handle(T0 + 6.0, op, Outcome::Added(true));
    let op = op_of(&drain(&mut e), "get");
    e.handle(T0 + 7.0, op, Outcome::Value(Some(&near)));
    let actions = drain(&mut e);
    assert_eq!(sent(&actions), None);
    assert_eq!(settled(&actions), vec![Ok("near".to_owned())]);
    assert!(matches!(e.call(T0 + 100.0), Verdict::Ready(Ok(_))));
    // Expired meanwhile: the error.
    let mut e = Engine::new(policy(60.0, 0, store(true)), 1);
    e.block_quota(T0 + 120_000.0);
    e.call(T0);
    let op = op_of(&drain(&mut e), "get");
    e.handle(T0 + 5.0, op, Outcome::Value(Some(&near)));
    let op = op_of(&drain(&mut e), "add");
    e.handle(T0 + 3_000.0, op, Outcome::Added(true));
    let op = op_of(&drain(&mut e), "get");
    e.handle(T0 + 3_001.0, op, Outcome::Value(None));
    assert_eq!(
        settled(&drain(&mut e)),
        vec![Err("quota_exceeded".to_owned())]
    );
}

#[test]
fn the_lease_loser_waits_in_the_store_at_most_the_lease_time() {
    let mut e = Engine::new(policy(60.0, 0, store(true)), 1);
    e.call(T0);
    let op = op_of(&drain(&mut e), "get");
    e.handle(T0, op, Outcome::Value(None));
    let op = op_of(&drain(&mut e), "add");
    e.handle(T0, op, Outcome::Added(false));
    drain(&mut e);
    let lease = e.policy().lease_ms();
    let mut now = T0;
    let mut reads = 0;
    let mut actions = Vec::new();
    loop {
        if let Some(op) = sent(&actions) {
            assert!(
                now >= T0 + 2.0 * lease && now <= T0 + 2.0 * lease + POLL_MS,
                "{}",
                now - T0
            );
            e.handle(now, op, ok(r#"{"access_token":"own","expires_in":60}"#));
            break;
        }
        now = e.poll_timeout().unwrap();
        e.handle_timeout(now);
        let op = op_of(&drain(&mut e), "get");
        reads += 1;
        e.handle(now, op, Outcome::Value(None));
        actions = past_quota(&mut e, now);
        if sent(&actions).is_none() {
            // Every look tries the lease again; another holder still has it.
            let op = op_of(&actions, "add");
            e.handle(now, op, Outcome::Added(false));
            actions = past_quota(&mut e, now);
        }
    }
    assert!(reads >= 15, "{reads}");
    let actions = drain(&mut e);
    let op = op_of(&actions, "put");
    e.handle(now, op, Outcome::Done);
    assert_eq!(settled(&drain(&mut e)), vec![Ok("own".to_owned())]);
}

#[test]
fn a_store_that_keeps_no_writes_is_detected_at_once() {
    // Issue 9, input 5: the Cache API on *.workers.dev keeps nothing; a cold call must
    // not wait for the lease.
    let mut e = Engine::new(policy(60.0, 0, store(false)), 1);
    e.call(T0);
    let op = op_of(&drain(&mut e), "get");
    e.handle(T0 + 1.0, op, Outcome::Value(None));
    let op = op_of(&drain(&mut e), "lease-get");
    e.handle(T0 + 2.0, op, Outcome::Value(None)); // null: nobody holds it
    let op = op_of(&drain(&mut e), "lease-put");
    e.handle(T0 + 3.0, op, Outcome::Done);
    let op = op_of(&drain(&mut e), "lease-get");
    e.handle(T0 + 4.0, op, Outcome::Value(None)); // our write is gone
    let actions = drain(&mut e);
    assert!(
        !actions.iter().any(|a| matches!(
            a,
            Action::Get {
                key: Key::Quota,
                ..
            }
        )),
        "the store is off"
    );
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::Event(Event::StoreError { operation: "lease" }))));
    let op = sent(&actions).expect("fetched at once");
    e.handle(T0 + 5.0, op, ok(r#"{"access_token":"t","expires_in":60}"#));
    let actions = drain(&mut e);
    assert_eq!(
        settled(&actions),
        vec![Ok("t".to_owned())],
        "no write to a store that keeps none"
    );
    // The next flight does not touch the store.
    e.clear(T0 + 10.0);
    e.call(T0 + 10.0);
    assert!(sent(&drain(&mut e)).is_some());
}

#[test]
fn memo_serves_fresh_tokens_only_until_due() {
    let e = with_token(1.0, 0);
    let m = e.memo(T0);
    let (t, until) = m.serve.unwrap();
    assert_eq!(t.access_token, "a");
    assert_eq!(until, T0 + 3_000.0);
    assert!(e.memo(T0 + 3_000.0).serve.is_none());
    assert!(e.memo(T0 + 3_000.0).join.is_none());
}

#[test]
fn call_bound_covers_the_worst_flight() {
    let p = policy(60.0, 2, store(true));
    // 3 attempts of 1 s + backstop, 2 waits of up to 60 s, and the store's share.
    assert!(p.call_bound_ms() >= 3.0 * 2000.0 + 120_000.0 + p.lease_ms());
}

#[test]
fn a_quota_block_reaches_other_clients_through_the_store() {
    // Client A is told r=0; it writes the block's end to the store. Client B (another
    // isolate, same store) reads it before sending and makes no request.
    let mut a = Engine::new(policy(60.0, 0, store(true)), 1);
    a.call(T0);
    let op = op_of(&drain(&mut a), "get");
    a.handle(T0, op, Outcome::Value(None));
    let op = op_of(&drain(&mut a), "add");
    a.handle(T0, op, Outcome::Added(true));
    let op = op_of(&drain(&mut a), "get"); // the double-checked re-read
    a.handle(T0, op, Outcome::Value(None));
    let actions = past_quota(&mut a, T0);
    let op = sent(&actions).unwrap();
    a.handle(
        T0 + 10.0,
        op,
        with_headers(
            429,
            r#"{"error":"too_many_requests"}"#,
            AnswerHeaders {
                client_quota: Some("b=per_hour;q=10;r=0;t=120"),
                ..AnswerHeaders::default()
            },
        ),
    );
    let written = drain(&mut a)
        .into_iter()
        .find_map(|a| match a {
            Action::Put {
                key: Key::Quota,
                value,
                ttl_seconds,
                ..
            } => Some((value, ttl_seconds)),
            _ => None,
        })
        .expect("the block is written to the store");
    assert_eq!(written, ((T0 + 10.0 + 120_000.0).to_string(), 120));

    let mut b = Engine::new(policy(60.0, 0, store(true)), 2);
    b.call(T0 + 20.0);
    let op = op_of(&drain(&mut b), "get");
    b.handle(T0 + 20.0, op, Outcome::Value(None));
    let op = op_of(&drain(&mut b), "add");
    b.handle(T0 + 20.0, op, Outcome::Added(true));
    let op = op_of(&drain(&mut b), "get");
    b.handle(T0 + 20.0, op, Outcome::Value(None));
    let op = drain(&mut b)
        .iter()
        .find_map(|a| match a {
            Action::Get {
                op,
                key: Key::Quota,
            } => Some(*op),
            _ => None,
        })
        .expect("the block is read before the request");
    b.handle(T0 + 21.0, op, Outcome::Value(Some(&written.0)));
    let actions = drain(&mut b);
    assert_eq!(
        sent(&actions),
        None,
        "no request while the fleet's bucket is empty"
    );
    assert_eq!(settled(&actions), vec![Err("quota_exceeded".to_owned())]);
    // Later calls look into the store (another client may have a token) but send nothing.
    b.call(T0 + 30.0);
    assert_eq!(sent(&drain(&mut b)), None, "no request from then on either");
}

#[test]
fn a_token_expired_on_arrival_is_never_handed_out() {
    // expires_in 0 (found by the fresh-eyes review): the token expires as it arrives.
    let mut e = Engine::new(policy(60.0, 2, None), 1);
    assert!(matches!(e.call(T0), Verdict::Wait(_)));
    let op = sent(&drain(&mut e)).unwrap();
    e.handle(
        T0 + 5.0,
        op,
        ok(r#"{"access_token":"zero","expires_in":0}"#),
    );
    let actions = drain(&mut e);
    assert_eq!(settled(&actions), vec![Err("invalid_response".to_owned())]);
    assert_eq!(sent(&actions), None, "not retried");
    assert!(e.token().is_none());
}

/// A JWT (unsigned: only its `exp` is read) that expires at `exp` seconds.
fn jwt(exp: u64) -> String {
    let claims = format!(r#"{{"sub":"user","exp":{exp}}}"#);
    let b64 = crate::encoding::base64_encode(claims.as_bytes())
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_");
    format!("eyJhbGciOiJub25lIn0.{b64}.sig")
}

#[test]
fn a_static_jwt_is_served_until_its_exp_then_token_expired_without_a_request() {
    let token = jwt(1_700_000_002);
    // Leeway 60 s, more than the token has left: a static token is never renewed.
    let mut e = Engine::new(policy(60.0, 2, None), 7);
    e.serve_static(&token);
    // Handed out until a second before its exp (the expiry margin), then token_expired.
    for now in [T0, T0 + 999.0] {
        match e.call(now) {
            Verdict::Ready(Ok(t)) => {
                assert_eq!(t.access_token, token);
                assert_eq!(t.token_type, "Bearer");
                assert_eq!(t.expires_at_ms, 1_700_000_002_000.0);
            }
            v => panic!("{v:?}"),
        }
        let memo = e.memo(now);
        assert_eq!(memo.serve.map(|(_, until)| until), Some(T0 + 1_000.0));
        assert_eq!(memo.join, None);
    }
    for now in [T0 + 1_000.0, T0 + 60_000.0] {
        assert_eq!(e.call(now), Verdict::Ready(Err(Error::TokenExpired)));
        assert_eq!(e.memo(now).serve, None);
        // A 401 and clear() change nothing: the same error, never a flight.
        assert_eq!(
            e.reject(now, &token),
            Verdict::Ready(Err(Error::TokenExpired))
        );
        e.clear(now);
        assert_eq!(e.call(now), Verdict::Ready(Err(Error::TokenExpired)));
        assert!(!e.is_busy());
        assert_eq!(e.poll_timeout(), None);
        assert!(drain(&mut e).iter().all(
            |a| matches!(a, Action::Event(Event::NegativeCache { code }) if code == "token_expired")
        ));
    }
}

#[test]
fn a_static_opaque_token_never_expires_and_never_touches_the_store() {
    let store = StoreCaps {
        atomic_add: true,
        delete: true,
        timeout_ms: 1000.0,
    };
    let mut e = Engine::new(policy(60.0, 2, Some(store)), 7);
    e.serve_static("opaque-token");
    for now in [T0, T0 + 365.0 * 86_400_000.0] {
        e.clear(now);
        match e.reject(now, "opaque-token") {
            Verdict::Ready(Ok(t)) => {
                assert_eq!(t.access_token, "opaque-token");
                assert_eq!(t.expires_at_ms, NO_EXPIRY_MS);
            }
            v => panic!("{v:?}"),
        }
        assert_eq!(
            e.memo(now).serve.map(|(_, u)| u),
            Some(NO_EXPIRY_MS - EXPIRY_MARGIN_MS)
        );
        assert_eq!(drain(&mut e), vec![]);
    }
    // A JWT whose exp overflows is capped like an opaque token.
    let mut e = Engine::new(policy(60.0, 2, None), 7);
    e.serve_static("eyJhbGciOiJub25lIn0.eyJleHAiOjFlMzA5fQ.sig");
    assert!(matches!(e.call(T0), Verdict::Ready(Ok(t)) if t.expires_at_ms == NO_EXPIRY_MS));
}

#[test]
fn a_request_the_driver_could_not_build_is_invalid_config_at_once() {
    // The private_key_jwt signer's key was refused by WebCrypto: the driver reports its
    // reason as the Send's value; it is not retried.
    let mut e = Engine::new(policy(60.0, 2, None), 7);
    assert!(matches!(e.call(T0), Verdict::Wait(_)));
    let op = sent(&drain(&mut e)).unwrap();
    e.handle(
        T0,
        op,
        Outcome::Value(Some("privateKey could not be imported")),
    );
    let actions = drain(&mut e);
    assert_eq!(settled(&actions), vec![Err("invalid_config".to_owned())]);
    assert!(sent(&actions).is_none());
    assert!(!e.is_busy());
}

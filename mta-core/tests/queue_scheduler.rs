//! The queue on a virtual clock: delivery, retry with backoff after a temporary failure,
//! bounce after expiry, delay warning, DSN parameters, no bounce to `<>`, double bounces,
//! per-destination concurrency, hold/release, delete, flush, recovery after restart, shutdown.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use futures::executor::block_on;
use mailhub_mta_core::bounce::DsnOptions;
use mailhub_mta_core::deliver::{DeliveryJob, Outcome, Transport};
use mailhub_mta_core::queue::{
    Kind, ManualClock, NewMessage, NewRecipient, Notify, Queue, QueueError, QueueOptions, Ret,
    State,
};
use mailhub_mta_core::route::Destination;
use mailhub_mta_core::runtime::default_runtime;

/// A transport whose answers are scripted per recipient address; records every delivery.
#[derive(Default)]
struct Script {
    answers: Mutex<HashMap<String, Vec<Outcome>>>,
    delivered: Mutex<Vec<(String, String, Vec<u8>)>>,
    attempts: AtomicUsize,
    concurrent: AtomicUsize,
    max_concurrent: AtomicUsize,
}

impl Script {
    fn answer(&self, addr: &str, outcomes: Vec<Outcome>) {
        self.answers.lock().unwrap().insert(addr.into(), outcomes);
    }
    fn delivered_to(&self, addr: &str) -> Vec<Vec<u8>> {
        self.delivered
            .lock()
            .unwrap()
            .iter()
            .filter(|d| d.1 == addr)
            .map(|d| d.2.clone())
            .collect()
    }
}

#[async_trait]
impl Transport for Script {
    async fn deliver(&self, job: &DeliveryJob) -> Vec<Outcome> {
        let c = self.concurrent.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_concurrent.fetch_max(c, Ordering::SeqCst);
        // Yield a few times so concurrent batches overlap.
        for _ in 0..3 {
            yield_now().await;
        }
        let data = std::fs::read(&job.data).unwrap();
        let mut out = Vec::new();
        for r in &job.recipients {
            self.attempts.fetch_add(1, Ordering::SeqCst);
            let next = {
                let mut a = self.answers.lock().unwrap();
                match a.get_mut(&r.address) {
                    Some(v) if v.len() > 1 => v.remove(0),
                    Some(v) => v[0].clone(),
                    None => Outcome::Delivered("250 ok".into()),
                }
            };
            if matches!(next, Outcome::Delivered(_)) {
                self.delivered.lock().unwrap().push((
                    job.sender.clone(),
                    r.address.clone(),
                    data.clone(),
                ));
            }
            out.push(next);
        }
        self.concurrent.fetch_sub(1, Ordering::SeqCst);
        out
    }
}

/// Returns Pending once, waking itself, so other futures of a join run in between.
async fn yield_now() {
    let mut yielded = false;
    futures::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}

const T0: u64 = 1_700_000_000;

fn setup(dir: &std::path::Path, options: QueueOptions) -> (Queue, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(UNIX_EPOCH + Duration::from_secs(T0)));
    let (q, _) = block_on(Queue::open(dir, options, clock.clone(), default_runtime())).unwrap();
    (q, clock)
}

fn opts() -> QueueOptions {
    QueueOptions {
        fsync: false,
        dsn: DsnOptions::new("mx.example.org"),
        ..QueueOptions::default()
    }
}

fn remote(addr: &str) -> NewRecipient {
    NewRecipient {
        address: addr.into(),
        destination: Destination::Remote(addr.into()),
        orcpt: None,
        notify: None,
    }
}

fn message(sender: &str, rcpts: Vec<NewRecipient>) -> NewMessage {
    NewMessage {
        sender: sender.into(),
        recipients: rcpts,
        ..NewMessage::default()
    }
}

const BODY: &[u8] =
    b"From: a@example.org\r\nSubject: hello\r\nMessage-ID: <1@example.org>\r\n\r\nbody text\r\n";

fn dsns(s: &Script, to: &str) -> Vec<String> {
    s.delivered_to(to)
        .into_iter()
        .map(|b| String::from_utf8(b).unwrap())
        .collect()
}

#[test]
fn delivers_and_removes_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let (q, _) = setup(dir.path(), opts());
    let s = Script::default();
    let id = block_on(q.enqueue(
        message(
            "a@example.org",
            vec![remote("b@x.example"), remote("c@y.example")],
        ),
        BODY,
    ))
    .unwrap();
    assert_eq!(q.list().len(), 1);
    let r = block_on(q.run_due(&s));
    assert_eq!(
        (r.batches, r.delivered),
        (2, 2),
        "one batch per destination"
    );
    assert_eq!(s.delivered_to("b@x.example"), [BODY.to_vec()]);
    assert!(q.show(&id).is_none());
    assert!(!q.data_path(&id).exists());
    assert_eq!(
        std::fs::read_dir(dir.path().join("env")).unwrap().count(),
        0
    );
}

#[test]
fn retry_after_temporary_failure_with_backoff() {
    let dir = tempfile::tempdir().unwrap();
    let (q, clock) = setup(dir.path(), opts());
    let s = Script::default();
    s.answer(
        "b@x.example",
        vec![
            Outcome::Deferred("451 4.3.0 try later".into()),
            Outcome::Deferred("451 4.3.0 again".into()),
            Outcome::Delivered("250 ok".into()),
        ],
    );
    let id =
        block_on(q.enqueue(message("a@example.org", vec![remote("b@x.example")]), BODY)).unwrap();
    assert_eq!(block_on(q.run_due(&s)).deferred, 1);
    let e = q.show(&id).unwrap();
    assert_eq!(e.recipients[0].attempts, 1);
    assert_eq!(
        e.recipients[0].next_attempt,
        UNIX_EPOCH + Duration::from_secs(T0 + 300)
    );
    assert_eq!(block_on(q.run_due(&s)).batches, 0, "not due yet");
    clock.advance(Duration::from_secs(300));
    assert_eq!(block_on(q.run_due(&s)).deferred, 1);
    assert_eq!(
        q.show(&id).unwrap().recipients[0].next_attempt,
        UNIX_EPOCH + Duration::from_secs(T0 + 300 + 600),
        "doubled"
    );
    clock.advance(Duration::from_secs(599));
    assert_eq!(block_on(q.run_due(&s)).batches, 0);
    clock.advance(Duration::from_secs(1));
    assert_eq!(block_on(q.run_due(&s)).delivered, 1);
    assert!(q.show(&id).is_none());
    assert_eq!(s.attempts.load(Ordering::SeqCst), 3);
}

#[test]
fn permanent_failure_bounces_to_the_sender_with_dsn_fields() {
    let dir = tempfile::tempdir().unwrap();
    let (q, _) = setup(dir.path(), opts());
    let s = Script::default();
    s.answer(
        "bad@x.example",
        vec![Outcome::Failed("550 5.1.1 No such user".into())],
    );
    let mut bad = remote("bad@x.example");
    bad.orcpt = Some("rfc822;Bad@X.example".into());
    let mut m = message("sender@example.org", vec![bad, remote("good@x.example")]);
    m.envid = Some("ENV-42".into());
    m.ret = Some(Ret::Headers);
    block_on(q.enqueue(m, BODY)).unwrap();
    let r = block_on(q.run_due(&s));
    assert_eq!((r.delivered, r.failed), (1, 1));
    // The DSN is queued from <> to the sender, then delivered.
    let bounce = q.list();
    assert_eq!(bounce.len(), 1);
    assert_eq!(bounce[0].sender, "");
    assert_eq!(bounce[0].kind, Kind::Bounce);
    block_on(q.run_due(&s));
    let d = dsns(&s, "sender@example.org");
    assert_eq!(d.len(), 1);
    let dsn = &d[0];
    for want in [
        "multipart/report",
        "report-type=\"delivery-status\"",
        "message/delivery-status",
        "Reporting-MTA: dns; mx.example.org",
        "Original-Envelope-Id: ENV-42",
        "Original-Recipient: rfc822;Bad@X.example",
        "Final-Recipient: rfc822; bad@x.example",
        "Action: failed",
        "Status: 5.1.1",
        "Diagnostic-Code: smtp; 550 5.1.1 No such user",
        "Auto-Submitted: auto-replied",
        "text/rfc822-headers",
        "Subject: hello",
    ] {
        assert!(dsn.contains(want), "missing {want:?} in\n{dsn}");
    }
    assert!(
        !dsn.contains("body text"),
        "RET=HDRS returns only the header"
    );
    assert!(
        !dsn.contains("good@x.example"),
        "only failed recipients are reported"
    );
    assert!(q.list().is_empty());
}

#[test]
fn ret_full_returns_the_message_and_notify_never_suppresses() {
    let dir = tempfile::tempdir().unwrap();
    let (q, _) = setup(dir.path(), opts());
    let s = Script::default();
    s.answer(
        "bad@x.example",
        vec![Outcome::Failed("550 5.1.1 No".into())],
    );
    s.answer(
        "quiet@x.example",
        vec![Outcome::Failed("550 5.1.1 No".into())],
    );
    let mut m = message("sender@example.org", vec![remote("bad@x.example")]);
    m.ret = Some(Ret::Full);
    block_on(q.enqueue(m, BODY)).unwrap();
    let mut quiet = remote("quiet@x.example");
    quiet.notify = Some(Notify::NEVER);
    block_on(q.enqueue(message("other@example.org", vec![quiet]), BODY)).unwrap();
    block_on(q.run_due(&s));
    block_on(q.run_due(&s));
    let d = dsns(&s, "sender@example.org");
    assert_eq!(d.len(), 1);
    assert!(
        d[0].contains("message/rfc822") && d[0].contains("body text"),
        "{}",
        d[0]
    );
    assert!(dsns(&s, "other@example.org").is_empty(), "NOTIFY=NEVER");
}

#[test]
fn expiry_bounces_after_a_delay_warning() {
    let dir = tempfile::tempdir().unwrap();
    let (q, clock) = setup(dir.path(), opts());
    let s = Script::default();
    s.answer(
        "slow@x.example",
        vec![Outcome::Deferred("421 4.4.2 connection dropped".into())],
    );
    block_on(q.enqueue(
        message("sender@example.org", vec![remote("slow@x.example")]),
        BODY,
    ))
    .unwrap();
    let mut warnings = 0;
    let mut hours = 0;
    while hours < 6 * 24 {
        clock.advance(Duration::from_secs(3600));
        hours += 1;
        block_on(q.run_due(&s));
        let d = dsns(&s, "sender@example.org");
        if warnings == 0 && !d.is_empty() {
            assert!(
                hours >= 4,
                "a warning only after 4 hours (got one after {hours})"
            );
            assert!(
                d[0].contains("Action: delayed") && d[0].contains("Will-Retry-Until:"),
                "{}",
                d[0]
            );
            warnings = d.len();
        }
    }
    let d = dsns(&s, "sender@example.org");
    assert_eq!(d.len(), 2, "one delay warning, one bounce");
    assert!(
        d[1].contains("Action: failed") && d[1].contains("delivery time expired"),
        "{}",
        d[1]
    );
    assert!(q.list().is_empty());
}

#[test]
fn null_sender_gets_no_bounce_and_a_failed_bounce_goes_to_postmaster_once() {
    let dir = tempfile::tempdir().unwrap();
    let (q, _) = setup(
        dir.path(),
        QueueOptions {
            postmaster: Destination::Remote("postmaster@example.org".into()),
            ..opts()
        },
    );
    let s = Script::default();
    s.answer(
        "gone@x.example",
        vec![Outcome::Failed("550 5.1.1 gone".into())],
    );
    s.answer(
        "sender@bad.example",
        vec![Outcome::Failed("550 5.1.1 no such sender".into())],
    );
    s.answer(
        "postmaster@example.org",
        vec![Outcome::Failed("550 5.1.1 even postmaster fails".into())],
    );
    // A message from <> that fails: no DSN at all.
    let mut m = message("", vec![remote("gone@x.example")]);
    m.kind = Kind::Normal;
    block_on(q.enqueue(m, BODY)).unwrap();
    block_on(q.run_due(&s));
    assert!(q.list().is_empty(), "no bounce to <>");
    // A bounce that fails goes to the postmaster; if that fails too, nothing more.
    block_on(q.enqueue(
        message("sender@bad.example", vec![remote("gone@x.example")]),
        BODY,
    ))
    .unwrap();
    for _ in 0..5 {
        block_on(q.run_due(&s));
    }
    assert!(q.list().is_empty(), "no loop: {:?}", q.list());
    let attempts_to_pm = s.attempts.load(Ordering::SeqCst);
    assert_eq!(
        attempts_to_pm, 4,
        "original, bounce, double bounce (+ the first <> message)"
    );
}

#[test]
fn per_destination_concurrency_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let (q, _) = setup(
        dir.path(),
        QueueOptions {
            max_per_bucket: 3,
            ..opts()
        },
    );
    let s = Script::default();
    for i in 0..10 {
        block_on(q.enqueue(
            message("a@example.org", vec![remote(&format!("u{i}@same.example"))]),
            BODY,
        ))
        .unwrap();
    }
    block_on(q.enqueue(
        message("a@example.org", vec![remote("x@other.example")]),
        BODY,
    ))
    .unwrap();
    let r = block_on(q.run_due(&s));
    assert_eq!(r.batches, 4, "3 for same.example, 1 for other.example");
    assert!(s.max_concurrent.load(Ordering::SeqCst) <= 4);
    let mut rounds = 1;
    while !q.list().is_empty() {
        block_on(q.run_due(&s));
        rounds += 1;
    }
    assert_eq!(rounds, 4);
}

#[test]
fn hold_release_delete_and_flush() {
    let dir = tempfile::tempdir().unwrap();
    let (q, _) = setup(dir.path(), opts());
    let s = Script::default();
    s.answer(
        "b@x.example",
        vec![
            Outcome::Deferred("451 later".into()),
            Outcome::Delivered("250 ok".into()),
        ],
    );
    let a =
        block_on(q.enqueue(message("a@example.org", vec![remote("b@x.example")]), BODY)).unwrap();
    let b =
        block_on(q.enqueue(message("a@example.org", vec![remote("c@x.example")]), BODY)).unwrap();
    block_on(q.hold(&b, true)).unwrap();
    block_on(q.run_due(&s));
    assert!(q.show(&b).unwrap().held);
    assert_eq!(q.show(&a).unwrap().recipients[0].state, State::Pending);
    q.flush(None);
    assert_eq!(
        block_on(q.run_due(&s)).delivered,
        1,
        "flush retried a now, b still held"
    );
    block_on(q.hold(&b, false)).unwrap();
    block_on(q.delete(&b)).unwrap();
    assert!(q.list().is_empty());
    assert!(matches!(
        block_on(q.delete(&b)),
        Err(QueueError::NoSuchMessage(_))
    ));
    assert!(s.delivered_to("c@x.example").is_empty());
}

#[test]
fn state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let s = Script::default();
    s.answer("b@x.example", vec![Outcome::Deferred("451 later".into())]);
    let id = {
        let (q, _) = setup(dir.path(), opts());
        let id = block_on(q.enqueue(
            message(
                "a@example.org",
                vec![remote("b@x.example"), remote("c@y.example")],
            ),
            BODY,
        ))
        .unwrap();
        block_on(q.hold(&id, false)).unwrap();
        block_on(q.run_due(&s));
        id
    };
    // Leftovers of an unacknowledged message.
    std::fs::write(dir.path().join("tmp/ffff.data"), b"partial").unwrap();
    std::fs::write(dir.path().join("data/0123456789abcdef"), b"orphan").unwrap();
    let clock = Arc::new(ManualClock::new(UNIX_EPOCH + Duration::from_secs(T0)));
    let (q, report) = block_on(Queue::open(dir.path(), opts(), clock, default_runtime())).unwrap();
    assert_eq!(
        (report.recovered, report.removed_tmp, report.removed_orphans),
        (1, 1, 1)
    );
    let e = q.show(&id).unwrap();
    assert_eq!(e.recipients[0].state, State::Pending);
    assert_eq!(e.recipients[0].attempts, 1);
    assert_eq!(e.recipients[1].state, State::Delivered);
    assert_eq!(std::fs::read(q.data_path(&id)).unwrap(), BODY);
}

#[test]
fn shutdown_stops_the_loop_and_refuses_new_mail() {
    let dir = tempfile::tempdir().unwrap();
    let (q, _) = setup(dir.path(), opts());
    let s: Arc<Script> = Arc::new(Script::default());
    block_on(q.enqueue(message("a@example.org", vec![remote("b@x.example")]), BODY)).unwrap();
    let q2 = q.clone();
    let runner = std::thread::spawn(move || block_on(q2.run(s)));
    // The loop delivers the message, then we stop it.
    for _ in 0..500 {
        if q.list().is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(q.list().is_empty());
    q.shutdown();
    runner.join().unwrap();
    assert!(matches!(
        block_on(q.enqueue(message("a@example.org", vec![remote("b@x.example")]), BODY)),
        Err(QueueError::ShuttingDown)
    ));
    let _ = SystemTime::now();
}

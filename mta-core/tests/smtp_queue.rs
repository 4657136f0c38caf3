//! The SMTP driver with the durable queue as its sink ([`QueueSink`]): the 250 comes with the
//! queue id of a message whose spool files exist, the envelope carries the routed
//! destination and the DSN parameters (RFC 3461 NOTIFY, ORCPT, ENVID, RET), and a full local
//! mailbox is refused at RCPT.
//!
//! Needs `python3` (standard library only). Every test is bounded by a timeout.

mod smtp_support;

use std::sync::Arc;

use mailhub_mta_core::queue::{Queue, QueueOptions, Ret, SystemClock};
use mailhub_mta_core::route::Destination;
use mailhub_mta_core::runtime::default_runtime;
use smtp_support::{LIMIT, PRELUDE, Setup, python, start};

#[tokio::test]
async fn accepted_mail_is_queued_with_dsn_parameters() {
    tokio::time::timeout(LIMIT, async {
        let spool = tempfile::tempdir().unwrap();
        let (queue, _) = Queue::open(
            spool.path(),
            QueueOptions::default(),
            Arc::new(SystemClock),
            default_runtime(),
        )
        .await
        .unwrap();
        let hub = start(Setup {
            queue: Some(queue.clone()),
            ..Setup::default()
        })
        .await;
        let script = format!(
            "{PRELUDE}
s = smtplib.SMTP('127.0.0.1', port)
s.ehlo('c.test')
c, m = s.mail('a@remote.test', ['RET=HDRS', 'ENVID=env+2B1']); assert c == 250, (c, m)
c, m = s.rcpt('dave+box@example.test', ['NOTIFY=SUCCESS,FAILURE', 'ORCPT=rfc822;orig@example.test'])
assert c == 250, (c, m)
c, m = s.rcpt('full@example.test'); assert c == 452, (c, m)
c, m = s.data(b'Subject: queued\\r\\n\\r\\nbody\\r\\n'); assert c == 250, (c, m)
print(m.decode().split()[-1])
s.quit()
"
        );
        let id = python(&hub, &script).await.trim().to_owned();
        let list = queue.list();
        assert_eq!(list.len(), 1);
        let env = &list[0];
        assert_eq!(env.id.as_str(), id);
        assert_eq!(env.sender, "a@remote.test");
        assert_eq!(env.envid.as_deref(), Some("env+1"));
        assert_eq!(env.ret, Some(Ret::Headers));
        assert_eq!(env.recipients.len(), 1);
        let r = &env.recipients[0].new;
        assert_eq!(r.address, "dave+box@example.test");
        assert_eq!(
            r.destination,
            Destination::Local {
                user: "dave".into(),
                folder: Some("box".into())
            }
        );
        assert_eq!(r.orcpt.as_deref(), Some("rfc822;orig@example.test"));
        let n = r.notify.unwrap();
        assert!(n.success && n.failure && !n.delay);
        let data = std::fs::read(queue.data_path(&env.id)).unwrap();
        let text = String::from_utf8_lossy(&data);
        assert!(
            text.starts_with("Received: from c.test ([127.0.0.1])"),
            "{text}"
        );
        assert!(
            text.ends_with("\r\nSubject: queued\r\n\r\nbody\r\n"),
            "{text}"
        );
    })
    .await
    .expect("test timed out");
}

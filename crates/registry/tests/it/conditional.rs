//! Conditional manifest pushes: `ETag` on manifest reads, `If-Match`/`If-None-Match` on
//! pushes, 412 `PRECONDITION_FAILED` with the tag left where it was, and a race of
//! read-then-write clients in which exactly one wins.

use std::sync::Arc;

use axum::http::Method;
use oci::Digest;
use tokio::sync::Barrier;

use crate::{image_manifest, sha256, App, OCI_MANIFEST};

/// Pushes the blobs of a one-layer image and returns its manifest (not yet pushed).
async fn image(app: &App, repository: &str, seed: &str) -> Vec<u8> {
    let config = app.push_blob(repository, b"{}").await;
    let layer = app
        .push_blob(repository, format!("layer {seed}").as_bytes())
        .await;
    image_manifest(&config, &[&layer], None, None)
}

async fn push_if(app: &App, reference: &str, payload: &[u8], condition: (&str, &str)) -> u16 {
    let reply = app
        .send(
            Method::PUT,
            &format!("/v2/cond/app/manifests/{reference}"),
            &[("content-type", OCI_MANIFEST), condition],
            payload.to_vec(),
        )
        .await;
    if reply.status.as_u16() == 412 {
        reply.expect(412, Some("PRECONDITION_FAILED"));
        assert_eq!(reply.header("content-type"), Some("application/json"));
    }
    reply.status.as_u16()
}

/// A push: the reference, what is pushed, the condition (a header), the status expected and
/// what the tag `t` points at afterwards.
type Case<'a> = (&'a str, &'a [u8], (&'a str, &'a str), u16, Option<&'a [u8]>);

/// The digest `tag` points at, from a `HEAD`'s `ETag`; `None` when it does not exist.
async fn etag(app: &App, tag: &str) -> Option<Digest> {
    let reply = app.head(&format!("/v2/cond/app/manifests/{tag}")).await;
    if reply.status.as_u16() == 404 {
        return None;
    }
    reply.expect(200, None);
    let etag = reply.header("etag").expect("an ETag").to_owned();
    let digest = etag.strip_prefix('"').and_then(|e| e.strip_suffix('"'));
    Some(digest.expect("a quoted ETag").parse().unwrap())
}

#[tokio::test]
async fn pushes_move_a_tag_only_when_their_conditions_hold() {
    let app = App::new().await;
    let [a, b, c] = [
        image(&app, "cond/app", "a").await,
        image(&app, "cond/app", "b").await,
        image(&app, "cond/app", "c").await,
    ];
    let quoted = |payload: &[u8]| format!("\"{}\"", sha256(payload));
    let (qa, qb) = (quoted(&a), quoted(&b));
    let cases: [Case; 10] = [
        ("t", &a, ("if-match", &qa), 412, None),
        ("t", &a, ("if-match", "*"), 412, None),
        ("t", &a, ("if-none-match", "*"), 201, Some(&a)),
        ("t", &b, ("if-none-match", "*"), 412, Some(&a)),
        ("t", &b, ("if-match", &qb), 412, Some(&a)),
        ("t", &b, ("if-match", &qa), 201, Some(&b)),
        // A client that read `a` before `b` was pushed loses, rather than undoing `b`.
        ("t", &c, ("if-match", &qa), 412, Some(&b)),
        ("t", &c, ("if-none-match", &qa), 201, Some(&c)),
        // By digest the condition is on the manifest itself.
        (
            &sha256(&a).to_string(),
            &a,
            ("if-none-match", "*"),
            412,
            Some(&c),
        ),
        (
            &sha256(&b).to_string(),
            &b,
            ("if-match", &qb),
            201,
            Some(&c),
        ),
    ];
    for (reference, payload, condition, status, tagged) in cases {
        let pushed = push_if(&app, reference, payload, condition).await;
        assert_eq!(pushed, status, "{condition:?} pushing {}", sha256(payload));
        assert_eq!(etag(&app, "t").await, tagged.map(sha256), "{condition:?}");
    }
}

#[tokio::test]
async fn manifest_reads_carry_the_digest_as_etag() {
    let app = App::new().await;
    let (_, digest) = app.push_image("cond/app", "v1", "e").await;
    let quoted = format!("\"{digest}\"");
    for reference in ["v1", digest.as_str()] {
        let uri = format!("/v2/cond/app/manifests/{reference}");
        for reply in [app.get(&uri).await, app.head(&uri).await] {
            reply.expect(200, None);
            assert_eq!(reply.header("etag"), Some(quoted.as_str()), "{reference}");
        }
    }
    assert_eq!(etag(&app, "v1").await, Some(digest));
}

/// Rounds of clients that all read the tag's `ETag`, then all push on it: one push per round
/// moves the tag, every other gets 412.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_clients_racing_from_one_read_exactly_one_wins() {
    const CLIENTS: usize = 6;
    let app = Arc::new(App::new().await);
    for round in 0..4 {
        let read = etag(&app, "race").await;
        let start = Arc::new(Barrier::new(CLIENTS));
        let mut clients = tokio::task::JoinSet::new();
        for client in 0..CLIENTS {
            let (app, start, read) = (app.clone(), start.clone(), read.clone());
            clients.spawn(async move {
                let mine = image(&app, "cond/app", &format!("{round} {client}")).await;
                let condition = match &read {
                    Some(digest) => ("if-match", format!("\"{digest}\"")),
                    None => ("if-none-match", "*".to_owned()),
                };
                start.wait().await;
                let status = push_if(&app, "race", &mine, (condition.0, &condition.1)).await;
                (status, sha256(&mine))
            });
        }
        let mut winners = Vec::new();
        while let Some(joined) = clients.join_next().await {
            match joined.unwrap() {
                (201, digest) => winners.push(digest),
                (412, _) => {}
                (other, _) => panic!("round {round}: status {other}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}");
        assert_eq!(etag(&app, "race").await.as_ref(), winners.first());
    }
}

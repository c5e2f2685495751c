//! Conditional pushes: a tag read, changed and pushed on what was read moves only if nobody
//! moved it in between; otherwise the typed [`ClientError::TagMoved`] and nothing changed.

use client::{ClientError, TagExpected};
use oci::manifest::MediaType;
use oci::ErrorCode;

use crate::push_image;
use crate::server::{client, Quirk, TestRegistry};

#[test]
fn a_tag_moves_only_from_the_state_it_was_read_in() {
    let registry = TestRegistry::open(Quirk::None);
    let (client, repo) = (client(None), registry.repo("cond/app"));
    let [a, b] = ["a", "b"].map(|seed| push_image(&client, &repo, &format!("seed-{seed}"), seed));
    let put = |manifest: &[u8], expected: TagExpected| {
        client.put_manifest_if(&repo, "t", MediaType::OCI_MANIFEST, manifest, &expected)
    };
    assert_eq!(put(&a.manifest, TagExpected::Absent).unwrap(), a.digest);
    let read = client.manifest(&repo, "t").unwrap();
    assert_eq!(read.digest, a.digest);
    // (what is pushed, on what, whether it moves the tag, what the tag is afterwards)
    let cases = [
        (&b, TagExpected::Absent, false, &a),
        (&b, TagExpected::At(b.digest.clone()), false, &a),
        (&b, TagExpected::At(read.digest.clone()), true, &b),
        // A second writer that read `a` too is refused rather than undoing `b`.
        (&a, TagExpected::At(read.digest.clone()), false, &b),
    ];
    for (pushed, expected, moves, tagged) in cases {
        match (put(&pushed.manifest, expected.clone()), moves) {
            (Ok(digest), true) => assert_eq!(digest, pushed.digest),
            (Err(err @ ClientError::TagMoved { .. }), false) => {
                assert_eq!(err.code(), Some(ErrorCode::PreconditionFailed));
                let text = err.to_string();
                let wanted = format!("did not move cond/app:t: it is no longer {expected}");
                assert!(text.contains(&wanted), "{text}");
                assert!(text.ends_with("read it again and retry"), "{text}");
            }
            (other, _) => panic!("pushing on {expected}: {other:?}"),
        }
        assert_eq!(client.manifest(&repo, "t").unwrap().digest, tagged.digest);
    }
}

/// distribution 2.8 ignores `If-Match`/`If-None-Match`: a conditional push there moves the tag
/// whatever it points at, as a plain push does (what publishing falls back to there).
#[test]
#[ignore = "needs docker-registry"]
fn distribution_ignores_the_conditions() {
    let registry = fixture_cache::Distribution::start();
    let client = client(None);
    let repo = client::Repository::parse(&format!("{}/cond/app", registry.address())).unwrap();
    let [a, b] = ["a", "b"].map(|seed| push_image(&client, &repo, &format!("seed-{seed}"), seed));
    // Each after the first would be refused by Hallmark: the tag exists, and then is at `b`.
    let stale = TagExpected::At(a.digest.clone());
    for (pushed, expected) in [
        (&a, TagExpected::Absent),
        (&b, TagExpected::Absent),
        (&a, stale),
    ] {
        let moved = client.put_manifest_if(
            &repo,
            "t",
            MediaType::OCI_MANIFEST,
            &pushed.manifest,
            &expected,
        );
        assert_eq!(moved.unwrap(), pushed.digest, "on {expected}");
        assert_eq!(client.manifest(&repo, "t").unwrap().digest, pushed.digest);
    }
}

//! The `MetaStore` contract's catalogue part: summaries with tiers, stars, pulls, search order
//! and tag details. Run by `meta_suite::run` on every backend; names here start with `zebra`
//! or `cat-` so the rest of the suite's repositories never match.

use std::time::Duration;

use oci::{OrganisationTier, TrustTier};
use store::{MetaError, MetaStore, OffsetPage, RepositorySummary};

use super::meta_suite::pushed_image;

pub async fn run(store: &impl MetaStore) {
    tiers_follow_the_namespace_and_the_organisation(store).await;
    stars_count_once_per_user(store).await;
    pulls_add_up_in_batches(store).await;
    search_ranks_names_before_descriptions(store).await;
    tag_details_list_newest_first(store).await;
}

fn page(offset: u64, limit: u32) -> OffsetPage {
    OffsetPage { offset, limit }
}

async fn summary(store: &impl MetaStore, name: &str) -> RepositorySummary {
    store.repository_summary(name).await.unwrap().unwrap()
}

async fn tiers_follow_the_namespace_and_the_organisation(store: &impl MetaStore) {
    for name in ["library/cat-a", "cat-org/a", "amd64/cat-a", "cat-none/a"] {
        store.create_repository(name).await.unwrap();
    }
    let verified = Some(OrganisationTier::VerifiedPublisher);
    store
        .set_organisation_tier("cat-org", verified)
        .await
        .unwrap();
    // A tier on an architecture namespace is stored but never shown: it is no organisation.
    store
        .set_organisation_tier("amd64", verified)
        .await
        .unwrap();
    let cases = [
        ("library/cat-a", TrustTier::Official),
        ("cat-org/a", TrustTier::VerifiedPublisher),
        ("amd64/cat-a", TrustTier::Community),
        ("cat-none/a", TrustTier::Community),
    ];
    for (name, tier) in cases {
        assert_eq!(summary(store, name).await.tier, tier, "{name}");
    }
    let sponsored = Some(OrganisationTier::SponsoredOss);
    store
        .set_organisation_tier("cat-org", sponsored)
        .await
        .unwrap();
    assert_eq!(
        summary(store, "cat-org/a").await.tier,
        TrustTier::SponsoredOss
    );
    store.set_organisation_tier("cat-org", None).await.unwrap();
    store.set_organisation_tier("amd64", None).await.unwrap();
    assert_eq!(summary(store, "cat-org/a").await.tier, TrustTier::Community);
    // An organisation's tier is its own, not that of one whose name it starts with.
    store.set_organisation_tier("cat", verified).await.unwrap();
    assert_eq!(summary(store, "cat-org/a").await.tier, TrustTier::Community);

    let fresh = summary(store, "cat-none/a").await;
    assert_eq!(
        (
            fresh.description.as_str(),
            fresh.star_count,
            fresh.pull_count
        ),
        ("", 0, 0)
    );
    assert_eq!(fresh.last_updated_ms, None);
    assert_eq!(store.repository_summary("cat-none/b").await.unwrap(), None);
    store.set_description("cat-none/a", "a cat").await.unwrap();
    assert_eq!(summary(store, "cat-none/a").await.description, "a cat");
    assert!(matches!(
        store.set_description("cat-none/b", "x").await,
        Err(MetaError::RepositoryUnknown(_))
    ));
}

async fn stars_count_once_per_user(store: &impl MetaStore) {
    let repo = "cat-stars/a";
    store.create_repository(repo).await.unwrap();
    assert!(store.star("alice", repo).await.unwrap());
    assert!(!store.star("alice", repo).await.unwrap());
    assert!(store.star("bob", repo).await.unwrap());
    assert_eq!(summary(store, repo).await.star_count, 2);
    assert!(store.has_starred("bob", repo).await.unwrap());
    assert!(store.unstar("bob", repo).await.unwrap());
    assert!(!store.unstar("bob", repo).await.unwrap());
    assert!(!store.has_starred("bob", repo).await.unwrap());
    assert!(store.has_starred("alice", repo).await.unwrap());
    assert_eq!(summary(store, repo).await.star_count, 1);
    assert!(matches!(
        store.star("alice", "cat-stars/none").await,
        Err(MetaError::RepositoryUnknown(_))
    ));
    assert!(!store.unstar("alice", "cat-stars/none").await.unwrap());
    assert!(!store.has_starred("alice", "cat-stars/none").await.unwrap());
}

async fn pulls_add_up_in_batches(store: &impl MetaStore) {
    let repo = "cat-pulls/a";
    store.create_repository(repo).await.unwrap();
    let batch = [(repo.to_owned(), 3), ("cat-pulls/deleted".to_owned(), 5)];
    store.add_pulls(&batch).await.unwrap();
    store.add_pulls(&batch[..1]).await.unwrap();
    store.add_pulls(&[]).await.unwrap();
    assert_eq!(summary(store, repo).await.pull_count, 6);
}

async fn search_ranks_names_before_descriptions(store: &impl MetaStore) {
    for name in [
        "library/zebra",
        "zeb-a/zebra",
        "zeb-b/zebra",
        "zeb-c/zebras",
        "zeb-d/plain",
        "zeb-e/plain",
    ] {
        store.create_repository(name).await.unwrap();
    }
    store
        .set_description("zeb-d/plain", "Striped like a ZEBRA")
        .await
        .unwrap();
    // Among equally good names, stars come first, then pulls.
    store.star("alice", "zeb-b/zebra").await.unwrap();
    store
        .add_pulls(&[("zeb-a/zebra".to_owned(), 10)])
        .await
        .unwrap();
    let expected = [
        "library/zebra",
        "zeb-b/zebra",
        "zeb-a/zebra",
        "zeb-c/zebras",
        "zeb-d/plain",
    ];
    for text in ["zebra", "ZEBRA"] {
        let found = store.search_repositories(text, &page(0, 10)).await.unwrap();
        let names: Vec<_> = found.items.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            (found.total, names.as_slice()),
            (5, &expected[..]),
            "{text}"
        );
    }
    let second = store
        .search_repositories("zebra", &page(2, 2))
        .await
        .unwrap();
    let names: Vec<_> = second.items.iter().map(|r| r.name.as_str()).collect();
    assert_eq!((second.total, names), (5, expected[2..4].to_vec()));
    assert_eq!(
        store
            .search_repositories("zebra", &page(5, 2))
            .await
            .unwrap()
            .items,
        vec![]
    );
    // The text is matched literally: LIKE's wildcards are escaped.
    for literal in ["zeb_a", "zeb%", "zeb-\\"] {
        let found = store
            .search_repositories(literal, &page(0, 10))
            .await
            .unwrap();
        assert_eq!(found.total, 0, "{literal}");
    }
    let listed = store
        .namespace_repositories("zeb-a", &page(0, 10))
        .await
        .unwrap();
    let names: Vec<_> = listed.items.iter().map(|r| r.name.as_str()).collect();
    assert_eq!((listed.total, names), (1, vec!["zeb-a/zebra"]));
    // A namespace is a whole first component: `zeb` holds nothing, though `zeb-a/…` starts so.
    let none = store
        .namespace_repositories("zeb", &page(0, 10))
        .await
        .unwrap();
    assert_eq!((none.total, none.items), (0, vec![]));
    let top = &store
        .search_repositories("library/zebra", &page(0, 1))
        .await
        .unwrap();
    assert_eq!(top.items[0].tier, TrustTier::Official);
}

async fn tag_details_list_newest_first(store: &impl MetaStore) {
    let repo = "cat-tags/app";
    let image = pushed_image(store, repo, "cat tags").await;
    for tag in ["old", "b-new", "a-new"] {
        store.put_manifest(repo, &image, Some(tag)).await.unwrap();
        // Distinct push times, so the order under test is by time and then by name.
        if tag == "old" {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let details = store.tag_details(repo, &page(0, 10)).await.unwrap();
    let names: Vec<_> = details.items.iter().map(|t| t.name.as_str()).collect();
    assert_eq!((details.total, names), (3, vec!["a-new", "b-new", "old"]));
    let first = &details.items[0];
    assert_eq!(first.manifest.record.digest, image.record.digest);
    assert_eq!(first.manifest.record.payload, image.record.payload);
    assert_eq!(
        summary(store, repo).await.last_updated_ms,
        Some(first.updated_ms)
    );
    let last = store.tag_details(repo, &page(2, 5)).await.unwrap();
    assert_eq!(last.items.len(), 1);
    assert_eq!(last.items[0].name, "old");
    assert_eq!(
        store.tag_detail(repo, "old").await.unwrap().as_ref(),
        Some(&last.items[0])
    );
    assert_eq!(store.tag_detail(repo, "gone").await.unwrap(), None);
    assert_eq!(
        store.tag_detail("cat-tags/none", "old").await.unwrap(),
        None
    );
    assert!(matches!(
        store.tag_details("cat-tags/none", &page(0, 10)).await,
        Err(MetaError::RepositoryUnknown(_))
    ));
}

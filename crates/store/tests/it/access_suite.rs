//! The `MetaStore` contract's access part: accounts with grants and memberships, organisations,
//! private repositories, refresh tokens, the signing key and the audit log. Run by
//! `meta_suite::run` on every backend; repositories here start with `acl-`.

use store::{
    Account, AccountKind, AuditAction, AuditFilter, MetaError, MetaStore, RefreshTokenRecord,
};

use super::meta_suite::pushed_image;

pub async fn run(store: &impl MetaStore) {
    accounts_keep_roles_grants_and_memberships(store).await;
    visibility_hides_private_repositories_from_search(store).await;
    refresh_tokens_and_the_signing_key_persist(store).await;
    content_changes_are_audited_with_their_change(store).await;
}

fn account(name: &str, kind: AccountKind) -> Account {
    Account {
        name: name.to_owned(),
        kind,
        password_hash: format!("$argon2id$v=19$m=8,t=1,p=1$c2FsdA$hash-of-{name}"),
        admin: false,
        publisher: false,
        grants: Vec::new(),
        organisations: Vec::new(),
    }
}

fn refresh(token_hash: &str, subject: &str) -> RefreshTokenRecord {
    RefreshTokenRecord {
        token_hash: token_hash.to_owned(),
        subject: subject.to_owned(),
        service: "hallmark".to_owned(),
        expires_ms: 42,
    }
}

fn filter(repository: Option<&str>, action: Option<AuditAction>) -> AuditFilter {
    AuditFilter {
        repository: repository.map(str::to_owned),
        action,
        ..AuditFilter::default()
    }
}

async fn accounts_keep_roles_grants_and_memberships(store: &impl MetaStore) {
    assert!(store.create_organisation("acl-org", "root").await.unwrap());
    assert!(!store.create_organisation("acl-org", "root").await.unwrap());
    let mut alice = account("alice", AccountKind::User);
    alice.publisher = true;
    alice.organisations = vec!["acl-org".into()];
    assert!(store.create_account(&alice, "root").await.unwrap());
    assert!(!store.create_account(&alice, "root").await.unwrap());
    let mut robot = account("builder-arm64v8", AccountKind::Robot);
    robot.grants = vec!["arm64v8/*:push".into(), "acl-org/app:pull".into()];
    assert!(store.create_account(&robot, "root").await.unwrap());
    robot.grants.sort();
    assert_eq!(store.account("builder-arm64v8").await.unwrap(), Some(robot));
    assert_eq!(store.account("alice").await.unwrap(), Some(alice.clone()));
    assert_eq!(store.account("nobody").await.unwrap(), None);

    let mut stray = account("stray", AccountKind::User);
    stray.organisations = vec!["acl-missing".into()];
    let refused = store.create_account(&stray, "root").await.unwrap_err();
    assert!(matches!(refused, MetaError::OrganisationUnknown(o) if o == "acl-missing"));
    assert_eq!(store.account("stray").await.unwrap(), None, "rolled back");

    assert!(store
        .create_account(&account("bob", AccountKind::User), "root")
        .await
        .unwrap());
    assert!(store.add_member("acl-org", "bob", "root").await.unwrap());
    assert!(!store.add_member("acl-org", "bob", "root").await.unwrap());
    let unknown = store
        .add_member("acl-org", "carol", "root")
        .await
        .unwrap_err();
    assert!(matches!(unknown, MetaError::AccountUnknown(a) if a == "carol"));
    let names: Vec<String> = store
        .accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, ["alice", "bob", "builder-arm64v8"]);

    // A rehash after login is no permission change; an admin's reset is.
    assert!(store
        .set_password_hash("bob", "$rehashed", None)
        .await
        .unwrap());
    assert!(store
        .set_password_hash("bob", "$reset", Some("root"))
        .await
        .unwrap());
    assert!(!store
        .set_password_hash("nobody", "$x", Some("root"))
        .await
        .unwrap());
    let bob = store.account("bob").await.unwrap().unwrap();
    assert_eq!(bob.password_hash, "$reset");
    assert!(store.delete_account("bob", "root").await.unwrap());
    assert!(!store.delete_account("bob", "root").await.unwrap());
    let changes = store
        .audit_log(&filter(None, Some(AuditAction::PermissionChange)))
        .await
        .unwrap();
    let details: Vec<&str> = changes.iter().map(|e| e.entry.detail.as_str()).collect();
    assert_eq!(
        details,
        [
            "removed account bob",
            "set the password of bob",
            "added bob to organisation acl-org",
            "created user bob",
            "created robot builder-arm64v8, grant arm64v8/*:push, grant acl-org/app:pull",
            "created user alice, role publisher, member of acl-org",
            "created organisation acl-org",
        ]
    );
    assert!(changes.iter().all(|e| e.entry.actor == "root"));
}

async fn visibility_hides_private_repositories_from_search(store: &impl MetaStore) {
    store.create_repository("acl-org/secret").await.unwrap();
    store.create_repository("acl-org/open").await.unwrap();
    // A repository may be made private before its first push.
    for name in ["acl-org/secret", "acl-org/later"] {
        store.set_private(name, true, "root").await.unwrap();
    }
    let asked = ["acl-org/secret", "acl-org/open", "acl-org/later"];
    let private = store.private_repositories(&asked).await.unwrap();
    assert_eq!(private, ["acl-org/secret", "acl-org/later"]);
    let page = store::OffsetPage {
        offset: 0,
        limit: 10,
    };
    let found = store.search_repositories("acl-org", &page).await.unwrap();
    let names: Vec<&str> = found.items.iter().map(|r| r.name.as_str()).collect();
    assert_eq!((names, found.total), (vec!["acl-org/open"], 1));
    let listed = store
        .namespace_repositories("acl-org", &page)
        .await
        .unwrap();
    assert_eq!(listed.total, 1);

    store
        .set_private("acl-org/later", false, "root")
        .await
        .unwrap();
    let private = store.private_repositories(&asked).await.unwrap();
    assert_eq!(private, ["acl-org/secret"]);
    let changes = store
        .audit_log(&filter(Some("acl-org/later"), None))
        .await
        .unwrap();
    let details: Vec<&str> = changes.iter().map(|e| e.entry.detail.as_str()).collect();
    assert_eq!(
        details,
        ["made acl-org/later public", "made acl-org/later private"]
    );
}

async fn refresh_tokens_and_the_signing_key_persist(store: &impl MetaStore) {
    let token = refresh("sha256:aa", "alice");
    store.put_refresh_token(&token).await.unwrap();
    assert_eq!(store.refresh_token("sha256:aa").await.unwrap(), Some(token));
    assert_eq!(store.refresh_token("sha256:bb").await.unwrap(), None);
    // The first key stored wins; later candidates get it back.
    assert_eq!(store.token_signing_key(b"first").await.unwrap(), b"first");
    assert_eq!(store.token_signing_key(b"second").await.unwrap(), b"first");
    // A removed account's refresh tokens go with it.
    store
        .create_account(&account("leaver", AccountKind::User), "root")
        .await
        .unwrap();
    let leaver = refresh("sha256:cc", "leaver");
    store.put_refresh_token(&leaver).await.unwrap();
    store.delete_account("leaver", "root").await.unwrap();
    assert_eq!(store.refresh_token("sha256:cc").await.unwrap(), None);
}

async fn content_changes_are_audited_with_their_change(store: &impl MetaStore) {
    let repository = "acl-org/audited";
    let first = pushed_image(store, repository, "acl one").await;
    let second = pushed_image(store, repository, "acl two").await;
    store
        .put_manifest_audited(repository, &first, Some("v1"), "alice")
        .await
        .unwrap();
    store
        .put_manifest_audited(repository, &second, Some("v1"), "alice")
        .await
        .unwrap();
    // A push that fails writes no entry: the entry is in the push's transaction.
    let mut broken = second.clone();
    broken.layers.push(super::sha256(b"acl never pushed"));
    broken.record.digest = super::sha256(b"acl broken");
    assert!(store
        .put_manifest_audited(repository, &broken, Some("v2"), "alice")
        .await
        .is_err());
    assert!(store
        .delete_tag_audited(repository, "v1", "bob")
        .await
        .unwrap());
    assert!(!store
        .delete_tag_audited(repository, "v1", "bob")
        .await
        .unwrap());
    let digest = &first.record.digest;
    assert!(store
        .delete_manifest_audited(repository, digest, "bob")
        .await
        .unwrap());
    let layer = &first.layers[0];
    assert!(store
        .unlink_blob_audited(repository, layer, "bob")
        .await
        .unwrap());
    assert!(!store
        .unlink_blob_audited(repository, layer, "bob")
        .await
        .unwrap());
    let (one, two) = (digest.to_string(), second.record.digest.to_string());
    let layer = layer.to_string();
    let log = store
        .audit_log(&filter(Some(repository), None))
        .await
        .unwrap();
    let seen: Vec<String> = log
        .iter()
        .map(|e| {
            let e = &e.entry;
            let text = |v: &Option<String>| v.clone().unwrap_or_default();
            let (reference, digest) = (text(&e.reference), text(&e.digest));
            format!("{} {} {reference} {digest} {}", e.actor, e.action, e.detail)
        })
        .collect();
    assert_eq!(
        seen,
        [
            format!("bob delete {layer} {layer} blob"),
            format!("bob delete {one} {one} "),
            format!("bob delete v1 {two} "),
            format!("alice tag-move v1 {two} from {one}"),
            format!("alice push v1 {two} "),
            format!("alice push v1 {one} "),
        ]
    );
    assert!(log
        .windows(2)
        .all(|w| w[0].id > w[1].id && w[0].at_ms >= w[1].at_ms));
    let limited = AuditFilter {
        actor: Some("alice".into()),
        limit: Some(1),
        ..AuditFilter::default()
    };
    let newest = store.audit_log(&limited).await.unwrap();
    assert_eq!(newest.len(), 1);
    assert_eq!(newest[0].entry.action, AuditAction::TagMove);
}

//! Property tests: scopes print and parse back unchanged, and no input makes the scope or token
//! parsers panic.

use std::sync::Arc;

use access::clock::SystemClock;
use access::scope::{parse_scopes, Action, ResourceType, Scope};
use access::token::{TokenKey, TokenVerifier};
use proptest::prelude::*;

/// `[a-z0-9]+ (separator [a-z0-9]+)*`, the path-component grammar.
fn component() -> impl Strategy<Value = String> {
    let run = "[a-z0-9]{1,6}";
    let separator = prop_oneof![
        Just(".".to_owned()),
        Just("_".to_owned()),
        Just("__".to_owned()),
        "-{1,3}"
    ];
    (run, prop::collection::vec((separator, run), 0..3)).prop_map(|(first, rest)| {
        rest.into_iter()
            .fold(first, |name, (separator, run)| name + &separator + &run)
    })
}

fn hostname() -> impl Strategy<Value = String> {
    let label = "[a-zA-Z0-9]([a-zA-Z0-9-]{0,4}[a-zA-Z0-9])?";
    (
        prop::collection::vec(label, 1..3),
        prop::option::of(0u32..70000),
    )
        .prop_map(|(labels, port)| {
            let host = labels.join(".");
            port.map_or(host.clone(), |port| format!("{host}:{port}"))
        })
}

fn name() -> impl Strategy<Value = String> {
    (
        prop::option::of(hostname()),
        prop::collection::vec(component(), 1..4),
    )
        .prop_map(|(host, components)| {
            let path = components.join("/");
            host.map_or(path.clone(), |host| format!("{host}/{path}"))
        })
}

fn resource_type() -> impl Strategy<Value = ResourceType> {
    prop_oneof![
        Just(ResourceType::Repository),
        Just(ResourceType::Registry),
        "[a-z0-9]{1,8}".prop_map(|value| match value.as_str() {
            "repository" => ResourceType::Repository,
            "registry" => ResourceType::Registry,
            _ => ResourceType::Other(value),
        }),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        Just(Action::Pull),
        Just(Action::Push),
        Just(Action::Delete),
        Just(Action::All),
        "[a-z*]{1,6}".prop_map(|text| {
            let parsed: Scope = format!("x:y:{text}").parse().unwrap();
            parsed.actions().first().unwrap().clone()
        }),
    ]
}

proptest! {
    #[test]
    fn scopes_print_and_parse_back_unchanged(
        resource_type in resource_type(),
        class in prop::option::of("[a-z0-9]{1,6}"),
        name in name(),
        actions in prop::collection::btree_set(action(), 1..4),
    ) {
        let scope = Scope::new(resource_type, class, &name, actions).unwrap();
        let printed = scope.to_string();
        prop_assert_eq!(printed.parse::<Scope>(), Ok(scope.clone()));
        prop_assert_eq!(parse_scopes([printed.as_str()]), Ok(vec![scope]));
    }

    #[test]
    fn any_text_parses_or_fails_without_panicking(text in "\\PC{0,80}") {
        if let Ok(scopes) = parse_scopes([text.as_str()]) {
            let printed = access::scope::format_scopes(&scopes);
            prop_assert_eq!(parse_scopes([printed.as_str()]), Ok(scopes));
        }
    }

    #[test]
    fn scope_like_text_parses_or_fails_without_panicking(text in "[a-zA-Z0-9:/(),.*_ -]{0,60}") {
        if let Ok(scopes) = parse_scopes([text.as_str()]) {
            let printed = access::scope::format_scopes(&scopes);
            prop_assert_eq!(parse_scopes([printed.as_str()]), Ok(scopes));
        }
    }

    #[test]
    fn any_token_text_is_refused_without_panicking(text in "[A-Za-z0-9_.=-]{0,300}") {
        let key = TokenKey::from_secret_bytes(&[7; 32]).unwrap();
        let verifier = TokenVerifier::new("issuer", "service", vec![key.public_key().clone()], Arc::new(SystemClock));
        prop_assert!(verifier.verify(&text).is_err());
    }
}

/// Principals of every kind the policy knows, with grants drawn from a few patterns.
fn principal() -> impl Strategy<Value = access::principal::Principal> {
    use access::principal::{Principal, Role};
    let grant = prop::sample::select(vec![
        "acme/*:push",
        "acme/secret:pull",
        "amd64/*:push",
        "library/*:push,delete",
        "acme/app:*",
    ])
    .prop_map(|text| text.parse().unwrap());
    (0..6usize, prop::collection::vec(grant, 0..3), any::<bool>()).prop_map(
        |(kind, grants, member)| {
            let base = match kind {
                0 => Principal::anonymous(),
                1 => Principal::user("u").with_role(Role::Publisher),
                2 => Principal::user("u").with_role(Role::Admin),
                3 => Principal::robot("r", []),
                4 => Principal::architecture_agent("a", oci::Architecture::Amd64),
                _ => Principal::user("u"),
            };
            let base = if member { base.member_of("acme") } else { base };
            grants.into_iter().fold(base, Principal::with_grant)
        },
    )
}

fn requested_scope() -> impl Strategy<Value = Scope> {
    let name = prop::sample::select(vec![
        "library/python",
        "amd64/python",
        "arm64v8/python",
        "acme/app",
        "acme/secret",
        "python",
    ]);
    let resource = prop_oneof![
        4 => Just(ResourceType::Repository),
        1 => Just(ResourceType::Registry),
    ];
    (resource, name, prop::collection::btree_set(action(), 1..4))
        .prop_map(|(resource, name, actions)| Scope::new(resource, None, name, actions).unwrap())
}

proptest! {
    #[test]
    fn a_grant_is_never_more_than_asked_nor_than_allowed(
        principal in principal(),
        requested in prop::collection::vec(requested_scope(), 0..5),
    ) {
        use access::policy::{grant, is_allowed, Visibility};
        let facts = |name: &str| if name == "acme/secret" { Visibility::Private } else { Visibility::Public };
        for granted in grant(&principal, &facts, &requested) {
            let asked: Vec<&Scope> = requested
                .iter()
                .filter(|scope| scope.resource_type() == granted.resource_type() && scope.name() == granted.name())
                .collect();
            prop_assert!(!asked.is_empty(), "granted an unrequested resource {}", granted);
            for action in granted.actions() {
                let covered = asked.iter().any(|scope| {
                    scope.actions().contains(action) || scope.actions().contains(&Action::All)
                });
                prop_assert!(covered, "granted {} beyond the request", action);
                if granted.resource_type() == &ResourceType::Repository {
                    prop_assert!(is_allowed(&principal, &facts, granted.name(), action));
                }
            }
        }
    }
}

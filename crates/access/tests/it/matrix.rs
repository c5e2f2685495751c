//! The authorisation matrix the access issue asks for: every role × every action × every kind of
//! namespace, with the expected answer written out once and asserted cell by cell.

use access::policy::{grant, is_allowed, may_mount, Visibility};
use access::principal::{Principal, Role};
use access::scope::{Action, Scope};
use oci::Architecture;

/// The repository standing for each column, in column order.
const COLUMNS: [&str; 5] = [
    "library/python",
    "amd64/python",
    "arm64v8/python",
    "acme/app",
    "acme/secret",
];

/// `mount` reads: mount a blob from the column's repository into the role's own writable
/// repository (its `home` below). Deletes need an explicit grant, which none of these roles
/// holds; admins hold every grant.
const MATRIX: &str = "
    role        action   library  amd64  arm64v8  acme/app  acme/secret(private)
    anonymous   pull     allow    allow  allow    allow     deny
    anonymous   push     deny     deny   deny     deny      deny
    anonymous   delete   deny     deny   deny     deny      deny
    anonymous   mount    deny     deny   deny     deny      deny
    user        pull     allow    allow  allow    allow     deny
    user        push     deny     deny   deny     deny      deny
    user        delete   deny     deny   deny     deny      deny
    user        mount    deny     deny   deny     deny      deny
    member      pull     allow    allow  allow    allow     allow
    member      push     deny     deny   deny     allow     allow
    member      delete   deny     deny   deny     deny      deny
    member      mount    allow    allow  allow    allow     allow
    agent-amd64 pull     allow    allow  allow    allow     deny
    agent-amd64 push     deny     allow  deny     deny      deny
    agent-amd64 delete   deny     deny   deny     deny      deny
    agent-amd64 mount    allow    allow  allow    allow     deny
    publisher   pull     allow    allow  allow    allow     deny
    publisher   push     allow    deny   deny     deny      deny
    publisher   delete   deny     deny   deny     deny      deny
    publisher   mount    allow    allow  allow    allow     deny
    admin       pull     allow    allow  allow    allow     allow
    admin       push     allow    allow  allow    allow     allow
    admin       delete   allow    allow  allow    allow     allow
    admin       mount    allow    allow  allow    allow     allow
";

/// A role's principal and the repository it mounts into.
fn role(name: &str) -> (Principal, &'static str) {
    match name {
        "anonymous" => (Principal::anonymous(), "acme/tool"),
        "user" => (Principal::user("alice"), "acme/tool"),
        "member" => (Principal::user("bob").member_of("acme"), "acme/tool"),
        "agent-amd64" => (
            Principal::architecture_agent("agent-amd64", Architecture::Amd64),
            "amd64/tool",
        ),
        "publisher" => (
            Principal::user("pat").with_role(Role::Publisher),
            "library/tool",
        ),
        "admin" => (Principal::user("root").with_role(Role::Admin), "acme/tool"),
        other => panic!("unknown role {other:?} in the matrix"),
    }
}

fn visibility(repository: &str) -> Visibility {
    if repository == "acme/secret" {
        Visibility::Private
    } else {
        Visibility::Public
    }
}

/// Whether `principal` may do the matrix action `action` on `repository`, asked the way the
/// registry will ask: through the token grant for pull, push and delete, and through the mount
/// check for mounts. The direct check must agree with the grant.
fn decide(principal: &Principal, home: &str, action: &str, repository: &str) -> bool {
    let action = match action {
        "mount" => return may_mount(principal, &visibility, repository, home),
        "pull" => Action::Pull,
        "push" => Action::Push,
        "delete" => Action::Delete,
        other => panic!("unknown action {other:?} in the matrix"),
    };
    let requested = [Scope::repository(repository, [action.clone()]).unwrap()];
    let granted = grant(principal, &visibility, &requested);
    let by_token = granted
        .iter()
        .any(|scope| scope.actions().contains(&action));
    let direct = is_allowed(principal, &visibility, repository, &action);
    assert_eq!(
        by_token, direct,
        "grant and is_allowed disagree on {repository}"
    );
    direct
}

#[test]
fn every_role_action_and_namespace_gets_the_written_answer() {
    let mut cells = 0;
    let mut wrong = Vec::new();
    for line in MATRIX
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .skip(1)
    {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [role_name, action, expected @ ..] = fields.as_slice() else {
            panic!("short matrix row {line:?}");
        };
        assert_eq!(expected.len(), COLUMNS.len(), "row {line:?}");
        let (principal, home) = role(role_name);
        for (repository, expected) in COLUMNS.iter().zip(expected) {
            let expected = match *expected {
                "allow" => true,
                "deny" => false,
                other => panic!("cell {other:?} should be allow or deny"),
            };
            cells += 1;
            if decide(&principal, home, action, repository) != expected {
                wrong.push(format!(
                    "{role_name} {action} {repository}: expected {expected}"
                ));
            }
        }
    }
    assert_eq!(
        cells,
        6 * 4 * 5,
        "the matrix covers 6 roles × 4 actions × 5 namespaces"
    );
    assert!(wrong.is_empty(), "cells that differ:\n{}", wrong.join("\n"));
}

#[test]
fn another_architectures_agent_cannot_push_to_amd64_or_library() {
    let agent = Principal::architecture_agent("agent-arm64v8", Architecture::Arm64v8);
    let requested = access::scope::parse_scopes([
        "repository:arm64v8/python:pull,push",
        "repository:amd64/python:pull,push",
        "repository:library/python:pull,push",
    ])
    .unwrap();
    let granted = grant(&agent, &visibility, &requested);
    assert_eq!(
        access::scope::format_scopes(&granted),
        "repository:arm64v8/python:pull,push repository:amd64/python:pull \
         repository:library/python:pull"
    );
}

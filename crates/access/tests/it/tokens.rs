//! Access tokens end to end: issue, verify, and every way a token must be refused.

use std::sync::Arc;
use std::time::Duration;

use access::clock::ManualClock;
use access::policy::{grant, Visibility};
use access::principal::Principal;
use access::scope::{parse_scopes, Action};
use access::token::{PublicKey, TokenError, TokenIssuer, TokenKey, TokenVerifier};
use base64ct::{Base64UrlUnpadded, Encoding};

const ISSUER: &str = "hallmark-token";
const SERVICE: &str = "registry.test";
const LIFETIME: Duration = Duration::from_secs(300);
const START: u64 = 1_700_000_000;

struct Fixture {
    clock: Arc<ManualClock>,
    issuer: TokenIssuer,
    verifier: TokenVerifier,
}

fn fixture() -> Fixture {
    let clock = Arc::new(ManualClock::at_unix_seconds(START));
    let key = TokenKey::generate().unwrap();
    let verifier = TokenVerifier::new(
        ISSUER,
        SERVICE,
        vec![key.public_key().clone()],
        clock.clone(),
    )
    .with_leeway(Duration::ZERO);
    let issuer = TokenIssuer::new(key, ISSUER, LIFETIME, clock.clone());
    Fixture {
        clock,
        issuer,
        verifier,
    }
}

/// Why the fixture's verifier refuses `token`; the test fails if it accepts it.
fn refused(fixture: &Fixture, token: &str) -> TokenError {
    fixture.verifier.verify(token).unwrap_err()
}

fn pull_token(fixture: &Fixture) -> String {
    let scopes = parse_scopes(["repository:library/python:pull"]).unwrap();
    fixture
        .issuer
        .issue("alice", SERVICE, &scopes)
        .unwrap()
        .token
}

/// The token with one of its three parts replaced.
fn replace_part(token: &str, index: usize, part: &str) -> String {
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[index] = part;
    parts.join(".")
}

fn encode(json: &str) -> String {
    Base64UrlUnpadded::encode_string(json.as_bytes())
}

fn decode(part: &str) -> String {
    String::from_utf8(Base64UrlUnpadded::decode_vec(part).unwrap()).unwrap()
}

#[test]
fn an_issued_token_verifies_and_carries_its_claims() {
    let fixture = fixture();
    let token = pull_token(&fixture);
    let header = decode(token.split('.').next().unwrap());
    let kid = fixture.issuer.public_key().key_id();
    assert_eq!(
        header,
        format!(r#"{{"typ":"JWT","alg":"ES256","kid":"{kid}"}}"#)
    );
    let claims = fixture.verifier.verify(&token).unwrap();
    assert_eq!(
        (claims.iss.as_str(), claims.sub.as_str()),
        (ISSUER, "alice")
    );
    assert_eq!(claims.aud, SERVICE);
    assert_eq!((claims.iat, claims.nbf), (START as i64, START as i64));
    assert_eq!(claims.exp, (START + LIFETIME.as_secs()) as i64);
    assert_eq!(claims.jti.len(), 22);
    assert!(claims.permits_repository("library/python", &Action::Pull));
    assert!(!claims.permits_repository("library/python", &Action::Push));
    assert!(!claims.permits_repository("library/ruby", &Action::Pull));
    let again = fixture.issuer.issue("alice", SERVICE, &[]).unwrap();
    assert_ne!(again.claims.jti, claims.jti, "every token has its own id");
}

#[test]
fn a_token_expires_at_exp_and_is_not_valid_before_nbf() {
    let fixture = fixture();
    let token = pull_token(&fixture);
    fixture.clock.advance(LIFETIME - Duration::from_secs(1));
    assert!(fixture.verifier.verify(&token).is_ok());
    fixture.clock.advance(Duration::from_secs(1));
    let exp = (START + LIFETIME.as_secs()) as i64;
    assert_eq!(
        refused(&fixture, &token),
        TokenError::Expired { exp, now: exp }
    );
    fixture.clock.rewind(LIFETIME + Duration::from_secs(10));
    assert_eq!(
        refused(&fixture, &token),
        TokenError::NotYetValid {
            nbf: START as i64,
            now: START as i64 - 10
        }
    );
}

#[test]
fn leeway_tolerates_small_clock_skew_only() {
    let fixture = fixture();
    let lenient = fixture
        .verifier
        .clone()
        .with_leeway(Duration::from_secs(60));
    let token = pull_token(&fixture);
    fixture.clock.advance(LIFETIME + Duration::from_secs(59));
    assert!(lenient.verify(&token).is_ok());
    fixture.clock.advance(Duration::from_secs(1));
    assert!(matches!(
        lenient.verify(&token),
        Err(TokenError::Expired { .. })
    ));
}

#[test]
fn tampered_payloads_and_signatures_are_refused() {
    let fixture = fixture();
    let token = pull_token(&fixture);
    let claims = decode(token.split('.').nth(1).unwrap());
    let widened = claims.replace(r#"["pull"]"#, r#"["pull","push"]"#);
    assert_ne!(widened, claims);
    let forged = replace_part(&token, 1, &encode(&widened));
    assert_eq!(refused(&fixture, &forged), TokenError::BadSignature);

    let signature = Base64UrlUnpadded::decode_vec(token.split('.').nth(2).unwrap()).unwrap();
    for index in [0, 31, 32, 63] {
        let mut flipped = signature.clone();
        flipped[index] ^= 1;
        let forged = replace_part(&token, 2, &Base64UrlUnpadded::encode_string(&flipped));
        assert_eq!(refused(&fixture, &forged), TokenError::BadSignature);
    }
    let truncated = replace_part(
        &token,
        2,
        &Base64UrlUnpadded::encode_string(&signature[..63]),
    );
    assert_eq!(refused(&fixture, &truncated), TokenError::BadSignature);
}

#[test]
fn unsigned_and_foreign_algorithm_tokens_are_refused_before_their_signature() {
    let fixture = fixture();
    let token = pull_token(&fixture);
    let kid = fixture.issuer.public_key().key_id();
    for (alg, signature) in [
        ("none", ""),
        ("HS256", "c2ln"),
        ("es256", "c2ln"),
        ("RS256", "c2ln"),
    ] {
        let header = encode(&format!(r#"{{"typ":"JWT","alg":"{alg}","kid":"{kid}"}}"#));
        let forged = replace_part(&replace_part(&token, 0, &header), 2, signature);
        assert_eq!(
            fixture.verifier.verify(&forged),
            Err(TokenError::UnsupportedAlgorithm(alg.into())),
            "{alg}"
        );
    }
    let critical = encode(&format!(
        r#"{{"alg":"ES256","kid":"{kid}","crit":["exp"]}}"#
    ));
    let forged = replace_part(&token, 0, &critical);
    assert_eq!(refused(&fixture, &forged), TokenError::CriticalExtension);
    let keyless = replace_part(&token, 0, &encode(r#"{"alg":"ES256"}"#));
    assert_eq!(refused(&fixture, &keyless), TokenError::MissingKeyId);
}

#[test]
fn tokens_of_unknown_keys_issuers_and_audiences_are_refused() {
    let fixture = fixture();
    let stranger = TokenKey::generate().unwrap();
    let stranger_kid = stranger.public_key().key_id().to_owned();
    let foreign = TokenIssuer::new(stranger, ISSUER, LIFETIME, fixture.clock.clone());
    let token = foreign.issue("alice", SERVICE, &[]).unwrap().token;
    assert_eq!(
        refused(&fixture, &token),
        TokenError::UnknownKey(stranger_kid)
    );

    let other_audience = fixture
        .issuer
        .issue("alice", "other.registry", &[])
        .unwrap()
        .token;
    assert_eq!(
        refused(&fixture, &other_audience),
        TokenError::WrongAudience {
            expected: SERVICE.into(),
            found: "other.registry".into()
        }
    );

    let key = TokenKey::generate().unwrap();
    let verifier = TokenVerifier::new(
        ISSUER,
        SERVICE,
        vec![key.public_key().clone()],
        fixture.clock.clone(),
    );
    let impostor = TokenIssuer::new(key, "impostor", LIFETIME, fixture.clock.clone());
    let token = impostor.issue("alice", SERVICE, &[]).unwrap().token;
    assert_eq!(
        verifier.verify(&token),
        Err(TokenError::WrongIssuer {
            expected: ISSUER.into(),
            found: "impostor".into()
        })
    );
}

#[test]
fn malformed_tokens_are_refused() {
    let fixture = fixture();
    let token = pull_token(&fixture);
    let (head, _) = token.rsplit_once('.').unwrap();
    for text in [
        String::new(),
        "a.b".into(),
        format!("{token}.extra"),
        format!("{head}.!!!"),
        replace_part(&token, 0, "e30="),
        replace_part(&token, 0, &encode("[]")),
        "x".repeat(20_000),
    ] {
        assert!(
            matches!(
                fixture.verifier.verify(&text),
                Err(TokenError::Malformed(_))
            ),
            "{text:.60}"
        );
    }
}

#[test]
fn a_scope_asking_more_than_granted_yields_a_token_with_the_grant_only() {
    let fixture = fixture();
    let member = Principal::user("bob").member_of("acme");
    let requested = parse_scopes([
        "repository:library/python:pull,push",
        "repository:acme/app:pull,push,delete repository:acme/secret:pull",
    ])
    .unwrap();
    let private = |name: &str| match name {
        "acme/secret" => Visibility::Private,
        _ => Visibility::Public,
    };
    let granted = grant(&member, &private, &requested);
    let issued = fixture
        .issuer
        .issue(member.subject(), SERVICE, &granted)
        .unwrap();
    let claims = fixture.verifier.verify(&issued.token).unwrap();
    let access: Vec<(String, Vec<String>)> = claims
        .access
        .iter()
        .map(|entry| (entry.name.clone(), entry.actions.clone()))
        .collect();
    let expected = [
        ("library/python", vec!["pull"]),
        ("acme/app", vec!["pull", "push"]),
        ("acme/secret", vec!["pull"]),
    ]
    .map(|(name, actions)| {
        (
            name.to_owned(),
            actions.iter().map(|a| a.to_string()).collect(),
        )
    });
    assert_eq!(access, expected);
    assert!(!claims.permits_repository("library/python", &Action::Push));
    assert!(!claims.permits_repository("acme/app", &Action::Delete));

    let stranger = Principal::user("alice");
    let granted = grant(&stranger, &private, &requested);
    let claims = fixture
        .verifier
        .verify(
            &fixture
                .issuer
                .issue("alice", SERVICE, &granted)
                .unwrap()
                .token,
        )
        .unwrap();
    assert_eq!(
        claims.access.len(),
        2,
        "no entry for the private repository"
    );
    assert!(!claims.permits_repository("acme/secret", &Action::Pull));
}

/// The header and claims of distribution's specification example (`docs/spec/auth/jwt.md`),
/// signed with the specification's example key by another implementation (Python's
/// `cryptography`, i.e. OpenSSL): our verifier reads tokens other servers make, and finds the
/// key by the libtrust `kid` the specification gives.
#[test]
fn a_token_signed_elsewhere_with_the_specification_key_verifies() {
    const SIGNING_INPUT: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiIsImtpZCI6IlBZWU86VEVXVTpWN0pIOjI2SlY6QVFUWjpMSkMzOlNYVko6WEdIQTozNEYyOjJMQVE6WlJNSzpaN1E2In0.eyJpc3MiOiJhdXRoLmRvY2tlci5jb20iLCJzdWIiOiJqbGhhd24iLCJhdWQiOiJyZWdpc3RyeS5kb2NrZXIuY29tIiwiZXhwIjoxNDE1Mzg3MzE1LCJuYmYiOjE0MTUzODcwMTUsImlhdCI6MTQxNTM4NzAxNSwianRpIjoidFlKQ08xYzZjbnl5N2tBbjBjN3JLUGdiVjFIMWJGd3MiLCJhY2Nlc3MiOlt7InR5cGUiOiJyZXBvc2l0b3J5IiwibmFtZSI6InNhbWFsYmEvbXktYXBwIiwiYWN0aW9ucyI6WyJwdXNoIl19XX0";
    const OPENSSL_SIGNATURE: &str =
        "euFUG07j9333eD6-1oWWDhstWHwJ4F3_WZ1ttC4pw0bprq-AJTpIDC1zg8hA-WyvHzMcRkyyZ-VYEs-sa_oyVw";
    // The signature printed in the specification does not match its own header and claims
    // (OpenSSL agrees), so it must be refused like any forgery.
    const SPECIFICATION_SIGNATURE: &str =
        "QhflHPfbd6eVF4lM9bwYpFZIV0PfikbyXuLx959ykRTBpe3CYnzs6YBK8FToVb5R47920PVLrh8zuLzdCr9t3w";
    let mut point = vec![4u8];
    for coordinate in [
        "m7zUpx3b-zmVE5cymSs64POG9QcyEpJaYCD82-549_Q",
        "dU3biz8sZ_8GPB-odm8Wxz3lNDr1xcAQQPQaOcr1fmc",
    ] {
        point.extend(Base64UrlUnpadded::decode_vec(coordinate).unwrap());
    }
    let key = PublicKey::from_sec1_bytes(&point).unwrap();
    let clock = Arc::new(ManualClock::at_unix_seconds(1_415_387_100));
    let verifier = TokenVerifier::new("auth.docker.com", "registry.docker.com", vec![key], clock);
    let claims = verifier
        .verify(&format!("{SIGNING_INPUT}.{OPENSSL_SIGNATURE}"))
        .unwrap();
    assert_eq!(claims.sub, "jlhawn");
    assert_eq!(claims.jti, "tYJCO1c6cnyy7kAn0c7rKPgbV1H1bFws");
    assert!(claims.permits_repository("samalba/my-app", &Action::Push));
    assert!(!claims.permits_repository("samalba/my-app", &Action::Pull));
    assert_eq!(
        verifier.verify(&format!("{SIGNING_INPUT}.{SPECIFICATION_SIGNATURE}")),
        Err(TokenError::BadSignature)
    );
}

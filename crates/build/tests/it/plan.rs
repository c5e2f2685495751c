//! The build plan over real git repositories: identities follow the build context and the
//! parents, so exactly what changed is rebuilt, in FROM-graph order.

use build::clock::{unix_seconds, Clock, FixedClock};
use build::engine::EngineKind;
use build::identity::ParentPin;
use build::plan::{plan, EngineChoice, Plan, PlanError, PlanRequest, StaticParents};
use build::records::{BuildRecord, BuildRecords, FileRecords, Outcome};
use build::source::GitCache;
use library::Library;
use oci::{Architecture, Digest, DigestAlgorithm, ImageReference};

use crate::fixture::{header, SourceRepo, Workspace};

/// base (scratch + COPY, two architectures), child FROM base (amd64), grandchild FROM child,
/// app FROM debian:12 (external), solo FROM scratch; a README outside every build context.
const FILES: &[(&str, &str)] = &[
    ("base/Dockerfile", "FROM scratch\nCOPY hello /\n"),
    ("base/hello", "hello\n"),
    ("child/Dockerfile", "FROM base:1\nRUN true\n"),
    ("grandchild/Dockerfile", "FROM child:2\nRUN true\n"),
    ("app/Dockerfile", "FROM debian:12\nRUN true\n"),
    ("solo/Dockerfile", "FROM scratch\nCOPY solo /\n"),
    ("solo/solo", "solo\n"),
    ("README", "first\n"),
];

fn write_library(ws: &Workspace, repo: &SourceRepo, commit: &str) -> Library {
    let head = header(&repo.url(), commit);
    let dir = ws.library(&[
        (
            "base",
            format!("{head}\nTags: 1, latest\nArchitectures: amd64, arm64v8\nDirectory: base\n"),
        ),
        ("child", format!("{head}\nTags: 2\nDirectory: child\n")),
        (
            "grandchild",
            format!("{head}\nTags: 3\nDirectory: grandchild\n"),
        ),
        ("app", format!("{head}\nTags: 4\nDirectory: app\n")),
        (
            "solo",
            format!("{head}\nTags: 5\nArchitectures: amd64, arm64v8\nDirectory: solo\n"),
        ),
    ]);
    let (library, errors) = Library::load_dir(&dir).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    library
}

fn digest(text: &str) -> Digest {
    Digest::of(DigestAlgorithm::Sha256, text.as_bytes())
}

fn debian(pin: &str) -> StaticParents {
    let mut parents = StaticParents::default();
    parents.insert(
        &ImageReference::parse("debian:12").unwrap(),
        None,
        digest(pin),
    );
    parents
}

fn make_plan(
    library: &Library,
    cache: &GitCache,
    parents: &StaticParents,
    records: &dyn BuildRecords,
    arch: Option<Architecture>,
) -> Result<Plan, PlanError> {
    let request = PlanRequest {
        specs: None,
        arch,
        engine: EngineChoice::Auto,
    };
    plan(library, cache, parents, records, request)
}

/// `(entry, arch, reason)` per row.
fn rows(plan: &Plan) -> Vec<(String, &'static str, &'static str)> {
    plan.builds
        .iter()
        .map(|b| (b.entry.clone(), b.arch.as_str(), b.reason.as_str()))
        .collect()
}

type Row = (&'static str, &'static str, &'static str);

fn expect(
    rows: &[(&str, &'static str, &'static str)],
) -> Vec<(String, &'static str, &'static str)> {
    rows.iter()
        .map(|(e, a, r)| ((*e).to_owned(), *a, *r))
        .collect()
}

/// Records every build of the plan that needs one as succeeded, as an agent would after
/// building it (the image digest stands for what an engine produced).
fn record_builds(plan: &Plan, records: &FileRecords, clock: &dyn Clock) {
    let now = unix_seconds(clock.now());
    for build in plan.builds.iter().filter(|b| b.reason.needs_build()) {
        let image = digest(&format!("image of {}", build.identity));
        let outcome = Outcome::Succeeded { image };
        let record = BuildRecord::of(build, build.engine, (now, now), None, outcome);
        records.put(&record).unwrap();
    }
}

/// A workspace with the sample committed, its library, a cache and empty records.
struct Sample {
    ws: Workspace,
    repo: SourceRepo,
    commit: String,
    cache: GitCache,
    records: FileRecords,
}

impl Sample {
    fn new() -> Self {
        let ws = Workspace::new();
        let repo = ws.repo("images");
        let commit = repo.commit(FILES);
        let (cache, _) = ws.cache();
        let records = FileRecords::new(ws.path("records"));
        Sample {
            ws,
            repo,
            commit,
            cache,
            records,
        }
    }

    fn library(&self, commit: &str) -> Library {
        write_library(&self.ws, &self.repo, commit)
    }
}

#[test]
fn exactly_what_changed_is_rebuilt_in_build_order() {
    let sample = Sample::new();
    let (cache, records) = (&sample.cache, &sample.records);
    let first = sample.commit.clone();
    let clock = FixedClock(
        std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000),
    );

    let library = sample.library(&first);
    let initial = make_plan(&library, cache, &debian("one"), records, None).unwrap();
    assert_eq!(
        rows(&initial),
        expect(&[
            ("app:4", "amd64", "missing"),
            ("base:1", "amd64", "missing"),
            ("child:2", "amd64", "missing"),
            ("grandchild:3", "amd64", "missing"),
            ("solo:5", "amd64", "missing"),
            ("base:1", "arm64v8", "missing"),
            ("solo:5", "arm64v8", "missing"),
        ])
    );
    let engines: Vec<EngineKind> = initial.builds.iter().map(|b| b.engine).collect();
    use EngineKind::{Docker, Native};
    assert_eq!(
        engines,
        [Docker, Native, Docker, Docker, Native, Native, Native]
    );
    assert!(initial.builds.iter().all(|b| b.agent == b.arch.as_str()));
    record_builds(&initial, records, &clock);

    /// What changes, the files committed, the debian:12 digest, and the builds expected.
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, &'a [Row]);
    let cases: &[Case] = &[
        ("nothing changed", &[], "one", &[]),
        (
            "a commit outside every build context",
            &[("README", "second\n")],
            "one",
            &[],
        ),
        (
            "a parent's build context",
            &[("base/hello", "changed\n")],
            "one",
            &[
                ("base:1", "amd64", "new source"),
                ("child:2", "amd64", "new parent digest"),
                ("grandchild:3", "amd64", "new parent digest"),
                ("base:1", "arm64v8", "new source"),
            ],
        ),
        (
            "a middle Dockerfile",
            &[("child/Dockerfile", "FROM base:1\nRUN echo changed\n")],
            "one",
            &[
                ("child:2", "amd64", "new source"),
                ("grandchild:3", "amd64", "new parent digest"),
            ],
        ),
        (
            "an external parent's digest",
            &[],
            "two",
            &[("app:4", "amd64", "new parent digest")],
        ),
    ];
    let mut current = first;
    for (what, changes, debian_pin, rebuilt) in cases {
        if !changes.is_empty() {
            current = sample.repo.commit(changes);
        }
        let library = sample.library(&current);
        let plan = make_plan(&library, cache, &debian(debian_pin), records, None).unwrap();
        let needed: Vec<_> = rows(&plan)
            .into_iter()
            .filter(|(_, _, reason)| *reason != "up to date")
            .collect();
        assert_eq!(needed, expect(rebuilt), "{what}");
        // Every row still lists the whole library, up-to-date ones with their image.
        assert_eq!(plan.builds.len(), 7, "{what}");
        assert!(plan
            .builds
            .iter()
            .all(|b| b.reason.needs_build() || b.image.is_some()));
        record_builds(&plan, records, &clock);
    }
}

#[test]
fn a_child_is_pinned_to_its_parents_identity_and_filtered_by_architecture() {
    let sample = Sample::new();
    let (cache, records) = (&sample.cache, &sample.records);
    let commit = sample.commit.clone();
    let library = sample.library(&commit);

    let plan = make_plan(
        &library,
        cache,
        &debian("one"),
        records,
        Some(Architecture::Arm64v8),
    )
    .unwrap();
    assert_eq!(
        rows(&plan),
        expect(&[
            ("base:1", "arm64v8", "missing"),
            ("solo:5", "arm64v8", "missing")
        ])
    );
    let plan = make_plan(&library, cache, &debian("one"), records, None).unwrap();
    let by_entry = |name: &str| plan.builds.iter().find(|b| b.entry == name).unwrap();
    let child = by_entry("child:2");
    assert_eq!(child.parents.len(), 1);
    assert_eq!(child.parents[0].entry.as_deref(), Some("base:1"));
    assert_eq!(
        child.parents[0].pin,
        ParentPin::Build(by_entry("base:1").identity.clone())
    );
    assert_eq!(
        by_entry("app:4").parents[0].pin,
        ParentPin::Digest(digest("one"))
    );
    // The identity is the tree hash of the directory, not the commit.
    let tree = crate::fixture::git(&sample.repo.dir, &["rev-parse", &format!("{commit}:base")]);
    assert_eq!(by_entry("base:1").inputs.tree, tree);
}

#[test]
fn an_unresolvable_external_parent_says_how_to_pin_it() {
    let sample = Sample::new();
    let (cache, records) = (&sample.cache, &sample.records);
    let commit = sample.commit.clone();
    let library = sample.library(&commit);
    let err = make_plan(&library, cache, &StaticParents::default(), records, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "app:4 for amd64: debian:12 is not in the library and has no digest for amd64: pin it with --parent debian:12=sha256:…"
    );
}

//! Runs every fixture in wat/ through the lifecycle and checks it against
//! the outcome its header declares. A new fixture is a new file.

use std::path::Path;

use component_actor::suite::{self, CleanupKind, HealthKind};
use component_actor::{ErrorKind, Runtime, RuntimeConfig};

fn fixtures() -> Vec<suite::Fixture> {
    suite::discover(&Path::new(env!("CARGO_MANIFEST_DIR")).join("wat")).expect("fixtures parse")
}

#[tokio::test]
async fn every_fixture_behaves_as_its_header_declares() {
    let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
    let fixtures = fixtures();
    let mut failures = Vec::new();
    for fixture in &fixtures {
        let observed = suite::run(&runtime, fixture).await.expect("fixture runs");
        for problem in suite::mismatches(fixture, &observed) {
            failures.push(format!("{}: {problem}", fixture.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_suite_covers_every_required_behaviour() {
    let fixtures = fixtures();
    let names: Vec<&str> = fixtures.iter().map(|f| f.name.as_str()).collect();
    for required in [
        "minimal",
        "good",
        "health_degraded",
        "health_unhealthy",
        "health_trap",
        "health_spin",
        "start_trap",
        "start_infinite_loop",
        "fuel_burner",
        "start_section_loop",
        "memory_initial_over",
        "memory_grow_trap",
        "memory_grow_copes",
        "table_over",
        "cleanup_hang",
        "cleanup_trap",
        "log_permitted",
        "log_denied",
        "unknown_import",
        "denied_many",
        "export_bad_start",
        "export_bad_health",
        "export_bad_cleanup",
        "recursion",
        "invalid_magic",
        "empty",
        "truncated",
        "malformed",
    ] {
        assert!(names.contains(&required), "missing fixture {required}");
    }
    // Every error kind a module can cause is exercised by some fixture.
    for kind in ErrorKind::ALL {
        if matches!(
            kind,
            ErrorKind::Load
                | ErrorKind::Manifest
                | ErrorKind::InvalidTransition
                | ErrorKind::Cancelled
                | ErrorKind::Config
                | ErrorKind::MailboxFull
        ) {
            // Not properties of a module (a full mailbox is the senders'
            // doing: tests/messages.rs).
            continue;
        }
        // Every import problem is refused before compiling (PermissionDenied
        // or UnsupportedImport), so linking a module cannot fail: only a
        // pooling runtime (slots taken, or too small) makes Instantiation.
        if kind == ErrorKind::Instantiation {
            continue;
        }
        assert!(
            fixtures.iter().any(|f| f.expect.start == Err(kind)
                || f.expect
                    .messages
                    .iter()
                    .any(|(_, reply)| *reply == Err(kind))),
            "no fixture expects {kind}"
        );
    }
    for fixture in &fixtures {
        assert!(
            !fixture.describe.is_empty(),
            "{} has no @describe",
            fixture.name
        );
        if fixture.expect.start.is_ok() {
            assert!(
                fixture.expect.health.is_some() && fixture.expect.cleanup.is_some(),
                "{} starts but does not declare its health and cleanup",
                fixture.name
            );
        }
    }
}

/// The comparison itself must catch a wrong expectation, or the data-driven
/// test above could pass without checking anything.
#[tokio::test]
async fn a_wrong_expectation_is_reported() {
    let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
    let fixtures = fixtures();
    let good = fixtures.iter().find(|f| f.name == "good").unwrap();
    let observed = suite::run(&runtime, good).await.unwrap();
    assert!(suite::mismatches(good, &observed).is_empty());

    let mut wrong = good.clone();
    wrong.expect.start = Err(ErrorKind::Trap);
    assert_eq!(suite::mismatches(&wrong, &observed).len(), 1);
    let mut wrong = good.clone();
    wrong.expect.health = Some(HealthKind::Degraded);
    assert_eq!(suite::mismatches(&wrong, &observed).len(), 1);
    let mut wrong = good.clone();
    wrong.expect.cleanup = Some(CleanupKind::TimedOut);
    assert_eq!(suite::mismatches(&wrong, &observed).len(), 1);

    let denied = fixtures.iter().find(|f| f.name == "denied_many").unwrap();
    let observed = suite::run(&runtime, denied).await.unwrap();
    assert!(suite::mismatches(denied, &observed).is_empty());
    let mut wrong = denied.clone();
    wrong.expect.denied = Some(vec!["host::log".into()]);
    assert_eq!(suite::mismatches(&wrong, &observed).len(), 1);
}

#[test]
fn malformed_headers_are_errors_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("ca-fixture-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text, needle) in [
        ("no_expect.wat", "(module)", "missing"),
        (
            "bad_kind.wat",
            ";; @expect-start: Oops\n(module)",
            "unknown error kind",
        ),
        (
            "bad_key.wat",
            ";; @expect-start: ok\n;; @colour: red\n(module)",
            "unknown header",
        ),
        (
            "bad_source.wat",
            ";; @expect-start: ok\n;; @source: magic:zz\n(module)",
            "not hex",
        ),
        (
            "odd_magic.wat",
            ";; @expect-start: ok\n;; @source: magic:abc\n(module)",
            "not an even number of hex digits",
        ),
        (
            "empty_magic.wat",
            ";; @expect-start: ok\n;; @source: magic:\n(module)",
            "not an even number of hex digits",
        ),
        (
            "unknown_source.wat",
            ";; @expect-start: ok\n;; @source: sideways\n(module)",
            "unknown @source `sideways`",
        ),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let e = suite::Fixture::load(&path).unwrap_err();
        assert!(e.to_string().contains(name), "{e}");
        assert!(e.to_string().contains(needle), "{e}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The README's error-kind table lists every kind the code has, once, and
/// whether it is permanent, so the list cannot drift from `ErrorKind::ALL`
/// and `ErrorKind::is_permanent`.
#[test]
fn the_readme_lists_every_error_kind() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let table = readme
        .split("## Error kinds")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("an `## Error kinds` section");
    // Each row: | `Kind` | yes/no (permanent) | meaning |
    let listed: Vec<(&str, &str)> = table
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| {
            let (kind, rest) = l.split_once('`')?;
            Some((kind, rest.split('|').nth(1)?.trim()))
        })
        .collect();
    let all: Vec<(&str, &str)> = ErrorKind::ALL
        .iter()
        .map(|k| (k.as_str(), if k.is_permanent() { "yes" } else { "no" }))
        .collect();
    assert_eq!(
        listed, all,
        "README error kinds and whether each is permanent, in declaration order"
    );
}

/// Every `@source` mode a header may name loads, and feeds `start` what it
/// says: the file as written, its binary, no bytes, a prefix, a new magic.
#[tokio::test]
async fn every_source_mode_loads_and_feeds_what_it_names() {
    let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
    let dir = std::env::temp_dir().join(format!("ca-source-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (mode, expect) in [
        ("file", "ok"),
        ("binary", "ok"),
        ("empty", "EmptyModule"),
        ("truncate:3", "InvalidMagic"),
        ("truncate:9", "Compile"),
        ("magic:7f454c46", "InvalidMagic"),
    ] {
        let path = dir.join(format!("{}.wat", mode.replace(':', "_")));
        let text = format!(";; @expect-start: {expect}\n;; @source: {mode}\n(module (memory 1))");
        std::fs::write(&path, text).unwrap();
        let fixture = suite::Fixture::load(&path).unwrap_or_else(|e| panic!("{mode}: {e}"));
        let observed = suite::run(&runtime, &fixture).await.unwrap();
        assert_eq!(
            suite::mismatches(&fixture, &observed),
            Vec::<String>::new(),
            "{mode}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The same fixtures given in memory (as the binary carries them) parse to
/// the same headers as read from their files, resolve their sidecar
/// manifests among the given files, and behave as their headers declare.
#[tokio::test]
async fn fixtures_given_in_memory_are_the_fixtures_on_disk() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("wat");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "wat" || e == "toml"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (
                format!("wat/{}", p.file_name().unwrap().to_string_lossy()),
                text,
            )
        })
        .collect();
    // Order does not matter: the result is sorted by path.
    files.reverse();
    let pairs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let in_memory: Vec<suite::Fixture> = suite::from_memory(&pairs)
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("every bundled fixture parses");
    let on_disk = fixtures();
    assert_eq!(in_memory.len(), on_disk.len());
    let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
    for (memory, disk) in in_memory.iter().zip(&on_disk) {
        assert_eq!(memory.name, disk.name);
        assert_eq!(memory.expect, disk.expect, "{}", disk.name);
        assert_eq!(memory.source, disk.source, "{}", disk.name);
        assert_eq!(memory.stop_timeout, disk.stop_timeout, "{}", disk.name);
        assert_eq!(
            memory
                .manifest
                .as_ref()
                .map(|m| m.file_name().map(ToOwned::to_owned)),
            disk.manifest
                .as_ref()
                .map(|m| m.file_name().map(ToOwned::to_owned)),
            "{}",
            disk.name
        );
        let bundled = memory.bundled.as_ref().expect("held in memory");
        assert_eq!(
            bundled.manifest.is_some(),
            disk.manifest.is_some(),
            "{}",
            disk.name
        );
        assert!(disk.bundled.is_none());
        let observed = suite::run(&runtime, memory).await.expect("fixture runs");
        let problems = suite::mismatches(memory, &observed);
        assert!(problems.is_empty(), "{}: {problems:?}", memory.name);
    }
    // A sidecar that is not among the files is that fixture's error.
    let lonely = [(
        "wat/lonely.wat",
        ";; @expect-start: ok\n;; @manifest: missing.toml\n(module)\n",
    )];
    let err = suite::from_memory(&lonely).remove(0).unwrap_err();
    assert!(err.message.contains("missing.toml"), "{err}");
}

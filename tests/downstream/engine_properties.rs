//! The engine's proposal choices (`src/runtime/engine.rs`), observed through
//! the public API. Shared by two builds: component-actor's own
//! (`tests/limits.rs`) and a downstream one with wasmtime's default features
//! unified on (`tests/downstream`), so a choice that rested on a cargo
//! feature being off would fail in the second.

use component_actor::{
    Child, ComponentActor, ComponentManifest, ComponentSource, ErrorKind, Runtime, RuntimeConfig,
};

/// Starts `wat` with the default manifest: `Ok`, or the error's kind and
/// message.
async fn outcome(runtime: &Runtime, wat: &str) -> Result<(), (ErrorKind, String)> {
    let mut actor = ComponentActor::new(
        runtime,
        ComponentSource::from_wat(wat),
        ComponentManifest::new("proposal").expect("manifest"),
    );
    actor.start().await.map_err(|e| (e.kind(), e.to_string()))
}

/// Modules using a proposal the engine refuses: each fails at compile time.
const REFUSED: &[(&str, &str)] = &[
    ("threads: a shared memory", "(module (memory 1 1 shared))"),
    (
        "threads: an atomic instruction",
        r#"(module (memory 1) (func (export "_start") (drop (i32.atomic.load (i32.const 0)))))"#,
    ),
    ("custom page sizes", "(module (memory 1 (pagesize 1)))"),
    (
        "wide arithmetic",
        r#"(module (func (export "_start")
            i64.const 1 i64.const 0 i64.const 1 i64.const 0 i64.add128 drop drop))"#,
    ),
    (
        "stack switching",
        "(module (type $f (func)) (type $c (cont $f)))",
    ),
    (
        "legacy exceptions",
        r#"(module (tag $e) (func (export "_start") try (throw $e) catch $e end))"#,
    ),
    ("component model", "(component)"),
];

/// Modules using a proposal the engine accepts: each starts, and its
/// `_start` traps if the proposal does not behave as chosen.
const ACCEPTED: &[(&str, &str)] = &[
    (
        "memory64",
        r#"(module (memory i64 1) (func (export "_start") (i64.store (i64.const 8) (i64.const 1))))"#,
    ),
    (
        "multi-memory",
        r#"(module (memory 1) (memory $b 1) (func (export "_start") (i32.store $b (i32.const 0) (i32.const 1))))"#,
    ),
    (
        "tail calls",
        r#"(module (func $f) (func (export "_start") (return_call $f)))"#,
    ),
    (
        "SIMD",
        r#"(module (func (export "_start") (drop (i32x4.splat (i32.const 1)))))"#,
    ),
    (
        // Deterministic: an out-of-range lane index gives 0 on every host
        // (x86's native `pshufb` would give lane 0, here 7).
        "relaxed SIMD, deterministic",
        r#"(module (func (export "_start")
            (if (i32.ne (i8x16.extract_lane_u 0
                          (i8x16.relaxed_swizzle
                            (v128.const i8x16 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7)
                            (v128.const i8x16 16 16 16 16 16 16 16 16 16 16 16 16 16 16 16 16)))
                        (i32.const 0))
              (then unreachable))))"#,
    ),
    (
        "bulk memory",
        r#"(module (memory 1) (func (export "_start") (memory.fill (i32.const 0) (i32.const 1) (i32.const 16))))"#,
    ),
    (
        "reference types",
        r#"(module (table 1 externref) (func (export "_start") (table.set (i32.const 0) (ref.null extern))))"#,
    ),
    (
        "typed function references",
        r#"(module (type $t (func)) (func $f) (elem declare func $f)
            (func (export "_start") (call_ref $t (ref.func $f))))"#,
    ),
    (
        "GC",
        r#"(module (type $s (struct (field i32)))
            (func (export "_start") (drop (struct.new $s (i32.const 1)))))"#,
    ),
    (
        "exceptions",
        r#"(module (tag $e)
            (func (export "_start") (block $h (try_table (catch $e $h) (throw $e)))))"#,
    ),
    (
        "extended constant expressions",
        "(module (global i32 (i32.add (i32.const 1) (i32.const 2))))",
    ),
    (
        "multi-value",
        r#"(module (func $two (result i32 i32) (i32.const 1) (i32.const 2))
            (func (export "_start") (call $two) (drop) (drop)))"#,
    ),
];

#[tokio::test]
async fn a_shared_memory_is_refused_at_compile_time() {
    let runtime = Runtime::new(RuntimeConfig::default()).expect("runtime");
    let err = outcome(&runtime, "(module (memory 1 1 shared))")
        .await
        .expect_err("a shared memory must not start");
    assert_eq!(err.0, ErrorKind::Compile, "{}", err.1);
}

#[tokio::test]
async fn every_refused_proposal_fails_to_compile() {
    let runtime = Runtime::new(RuntimeConfig::default()).expect("runtime");
    let mut wrong = Vec::new();
    for (proposal, wat) in REFUSED {
        match outcome(&runtime, wat).await {
            Err((ErrorKind::Compile, _)) => {}
            other => wrong.push(format!("{proposal}: {other:?}")),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn every_accepted_proposal_starts_and_behaves_as_chosen() {
    let runtime = Runtime::new(RuntimeConfig::default()).expect("runtime");
    let mut wrong = Vec::new();
    for (proposal, wat) in ACCEPTED {
        if let Err(e) = outcome(&runtime, wat).await {
            wrong.push(format!("{proposal}: {e:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

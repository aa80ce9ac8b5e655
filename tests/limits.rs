//! Every way a guest can grow a memory or a table, through the public API:
//! the sums over all memories and all tables never pass the manifest's
//! caps. Each guest checks the real sizes itself (`memory.size`,
//! `table.size`, `memory.grow`/`table.grow` results) and traps
//! (`unreachable`) when one is not what the caps allow, so `start` fails
//! with `Trap` on a limiter that lets growth through.
//!
//! Also here: fuel with no cap never runs out (defect 9 of issue 9), and the
//! engine properties shared with the downstream build (`tests/downstream`).

use std::time::Duration;

use component_actor::{
    Child, ComponentActor, ComponentError, ComponentManifest, ComponentSource, ErrorKind,
    ResourceLimits, Runtime, RuntimeConfig,
};

#[path = "downstream/engine_properties.rs"]
mod engine_properties;

const PAGE: u64 = 65536;

// Assignments rather than a struct literal: ResourceLimits may gain fields.
#[allow(clippy::field_reassign_with_default)]
fn limits(memory_pages: u64, table_elements: u64, fuel: Option<u64>) -> ResourceLimits {
    let mut limits = ResourceLimits::default();
    limits.max_memory_bytes = memory_pages * PAGE;
    limits.max_table_elements = table_elements;
    limits.max_fuel = fuel;
    limits.max_call_duration = Duration::from_secs(10);
    limits
}

/// Starts `wat` under `limits` (with a generous outer bound: a regression
/// fails instead of hanging) and returns the outcome.
async fn start(wat: &str, limits: ResourceLimits) -> Result<(), ComponentError> {
    let runtime = Runtime::new(RuntimeConfig::default()).expect("runtime");
    let manifest = ComponentManifest::builder("limits")
        .limits(limits)
        .build()
        .expect("manifest");
    let mut actor = ComponentActor::new(&runtime, ComponentSource::from_wat(wat), manifest);
    tokio::time::timeout(Duration::from_secs(60), actor.start())
        .await
        .expect("start returns")
}

/// Asserts that `wat` starts under `limits`.
async fn starts(wat: &str, limits: ResourceLimits) {
    if let Err(e) = start(wat, limits).await {
        panic!("start failed: {} ({:?})", e, e.kind());
    }
}

/// Asserts that `wat` fails to start with `kind`.
async fn fails(wat: &str, limits: ResourceLimits, kind: ErrorKind) {
    match start(wat, limits).await {
        Ok(()) => panic!("start succeeded; expected {kind:?}"),
        Err(e) => assert_eq!(e.kind(), kind, "{e}"),
    }
}

// The reported bypass (issue 9, defect 2): wasmtime calls
// `table_grow_failed` for a `table.grow` whose new size overflows, without
// asking `table_growing` first; a limiter that undid "the pending growth"
// then forgot 995 elements and let the table reach 1,990.
#[tokio::test]
async fn a_table64_grow_that_overflows_does_not_reset_the_count() {
    let wat = r#"(module
      (table $t i64 0 funcref)
      (func (export "_start")
        (if (i64.ne (table.grow $t (ref.null func) (i64.const 995)) (i64.const 0)) (then unreachable))
        ;; 995 + (2^64 - 1) overflows: refused without asking the limiter
        (if (i64.ne (table.grow $t (ref.null func) (i64.const -1)) (i64.const -1)) (then unreachable))
        ;; 1,990 elements would pass the 1,000-element cap
        (if (i64.ne (table.grow $t (ref.null func) (i64.const 995)) (i64.const -1)) (then unreachable))
        (if (i64.ne (table.grow $t (ref.null func) (i64.const 5)) (i64.const 995)) (then unreachable))
        (if (i64.ne (table.size $t) (i64.const 1000)) (then unreachable))))"#;
    starts(wat, limits(16, 1000, None)).await;
}

// The same failure report on one table must not free room in another.
#[tokio::test]
async fn an_overflowing_grow_of_one_table_frees_no_room_in_another() {
    let wat = r#"(module
      (table $a i64 0 funcref)
      (table $b 0 funcref)
      (func (export "_start")
        (if (i64.ne (table.grow $a (ref.null func) (i64.const 600)) (i64.const 0)) (then unreachable))
        (if (i64.ne (table.grow $a (ref.null func) (i64.const -1)) (i64.const -1)) (then unreachable))
        (if (i32.ne (table.grow $b (ref.null func) (i32.const 400)) (i32.const 0)) (then unreachable))
        (if (i32.ne (table.grow $b (ref.null func) (i32.const 1)) (i32.const -1)) (then unreachable))
        (if (i64.ne (table.grow $a (ref.null func) (i64.const 1)) (i64.const -1)) (then unreachable))
        (if (i32.ne (i32.add (i32.wrap_i64 (table.size $a)) (table.size $b)) (i32.const 1000))
          (then unreachable))))"#;
    starts(wat, limits(16, 1000, None)).await;
}

// A growth past a table's own declared maximum fails; the count stays right
// for that table and the others.
#[tokio::test]
async fn a_grow_past_a_declared_maximum_leaves_the_count_right() {
    let wat = r#"(module
      (table $t 0 10 funcref)
      (table $u 0 funcref)
      (func (export "_start")
        (if (i32.ne (table.grow $t (ref.null func) (i32.const 5)) (i32.const 0)) (then unreachable))
        (if (i32.ne (table.grow $t (ref.null func) (i32.const 6)) (i32.const -1)) (then unreachable))
        (if (i32.ne (table.grow $t (ref.null func) (i32.const 5)) (i32.const 5)) (then unreachable))
        (if (i32.ne (table.grow $u (ref.null func) (i32.const 10)) (i32.const 0)) (then unreachable))
        (if (i32.ne (table.grow $u (ref.null func) (i32.const 1)) (i32.const -1)) (then unreachable))))"#;
    starts(wat, limits(16, 20, Some(1_000_000))).await;
}

#[tokio::test]
async fn memory_grow_stops_at_the_cap() {
    let wat = r#"(module
      (memory 1)
      (func (export "_start")
        (if (i32.ne (memory.grow (i32.const 3)) (i32.const 1)) (then unreachable))
        (if (i32.ne (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable))
        (if (i32.ne (memory.grow (i32.const 65535)) (i32.const -1)) (then unreachable))
        (if (i32.ne (memory.size) (i32.const 4)) (then unreachable))))"#;
    starts(wat, limits(4, 1000, Some(1_000_000))).await;
}

#[tokio::test]
async fn memory64_grow_with_a_huge_delta_is_refused_and_the_count_holds() {
    let wat = r#"(module
      (memory i64 1)
      (func (export "_start")
        (if (i64.ne (memory.grow (i64.const -1)) (i64.const -1)) (then unreachable))
        (if (i64.ne (memory.grow (i64.const 0x7fffffffffff)) (i64.const -1)) (then unreachable))
        (if (i64.ne (memory.grow (i64.const 3)) (i64.const 1)) (then unreachable))
        (if (i64.ne (memory.grow (i64.const 1)) (i64.const -1)) (then unreachable))
        (if (i64.ne (memory.size) (i64.const 4)) (then unreachable))))"#;
    starts(wat, limits(4, 1000, None)).await;
}

#[tokio::test]
async fn growth_is_capped_over_the_sum_of_all_memories() {
    let wat = r#"(module
      (memory $a 1)
      (memory $b 1 3)
      (memory $c i64 0)
      (func (export "_start")
        ;; past $b's own maximum: refused, and counts nothing
        (if (i32.ne (memory.grow $b (i32.const 3)) (i32.const -1)) (then unreachable))
        (if (i32.ne (memory.grow $a (i32.const 1)) (i32.const 1)) (then unreachable))
        (if (i32.ne (memory.grow $b (i32.const 1)) (i32.const 1)) (then unreachable))
        ;; 4 pages in use: nothing more fits anywhere
        (if (i32.ne (memory.grow $b (i32.const 1)) (i32.const -1)) (then unreachable))
        (if (i32.ne (memory.grow $a (i32.const 1)) (i32.const -1)) (then unreachable))
        (if (i64.ne (memory.grow $c (i64.const 1)) (i64.const -1)) (then unreachable))
        (if (i64.ne (memory.grow $c (i64.const -1)) (i64.const -1)) (then unreachable))
        (if (i32.ne (i32.add (memory.size $a) (memory.size $b)) (i32.const 4)) (then unreachable))))"#;
    starts(wat, limits(4, 1000, Some(1_000_000))).await;
}

#[tokio::test]
async fn initial_sizes_over_the_caps_fail_instantiation() {
    let l = || limits(4, 1000, Some(1_000_000));
    fails("(module (memory i64 5))", l(), ErrorKind::MemoryLimit).await;
    fails(
        "(module (memory 2) (memory i64 3))",
        l(),
        ErrorKind::MemoryLimit,
    )
    .await;
    fails(
        "(module (table i64 1001 funcref))",
        l(),
        ErrorKind::TableLimit,
    )
    .await;
    fails(
        "(module (table 500 funcref) (table i64 501 funcref))",
        l(),
        ErrorKind::TableLimit,
    )
    .await;
    starts(
        "(module (memory 2) (memory i64 2) (table 500 funcref) (table i64 500 funcref))",
        l(),
    )
    .await;
}

// Issue 9, defect 9: wasmtime charges `table.grow` one unit of fuel per
// requested element before it asks the limiter, so with the "no cap" budget
// of u64::MAX three requests of 2^64 - 1 elements ran out of fuel.
#[tokio::test]
async fn no_fuel_cap_never_runs_out_of_fuel_on_huge_table_grows() {
    let wat = r#"(module
      (table $t i64 0 funcref)
      (func (export "_start") (local $i i32)
        (loop $again
          (if (i64.ne (table.grow $t (ref.null func) (i64.const -1)) (i64.const -1)) (then unreachable))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $again (i32.lt_u (local.get $i) (i32.const 1000))))))"#;
    starts(wat, limits(16, 1000, None)).await;
}

// A capped budget still runs out on the same guest looping for ever.
#[tokio::test]
async fn a_capped_fuel_budget_still_runs_out_on_huge_table_grows() {
    let wat = r#"(module
      (table $t i64 0 funcref)
      (func (export "_start")
        (loop $again
          (drop (table.grow $t (ref.null func) (i64.const -1)))
          (br $again))))"#;
    fails(wat, limits(16, 1000, Some(100_000)), ErrorKind::OutOfFuel).await;
}

/// On the pooling allocator, a start beyond the slots is an `Instantiation`
/// error (not a trap, not a limit error: the manifest allows it) and a freed
/// slot is usable again; a memory larger than a slot never fits this
/// runtime, and wasmtime refuses it when it compiles the module (`Compile`,
/// a permanent kind).
#[tokio::test]
async fn the_pool_refuses_past_its_slots_and_a_module_larger_than_a_slot() {
    use component_actor::{ActorState, Allocation};
    let config = RuntimeConfig {
        allocation: Allocation::Pooling {
            slots: 1,
            max_memory_per_slot: 2 * PAGE,
        },
        ..RuntimeConfig::default()
    };
    let runtime = Runtime::new(config).expect("a one-slot pool");
    let manifest = ComponentManifest::builder("pool")
        .limits(limits(16, 1000, Some(1_000_000)))
        .build()
        .expect("manifest");
    let actor =
        |wat: &str| ComponentActor::new(&runtime, ComponentSource::from_wat(wat), manifest.clone());
    let mut first = actor("(module (memory 1))");
    first.start().await.expect("the one slot");
    let mut second = actor("(module (memory 1))");
    let e = second.start().await.expect_err("no slot left");
    assert_eq!(e.kind(), ErrorKind::Instantiation, "{e}");
    assert!(matches!(second.state(), ActorState::Failed(_)));
    first.stop(Duration::from_secs(1)).await.unwrap();
    second.start().await.expect("the freed slot");
    second.stop(Duration::from_secs(1)).await.unwrap();

    let mut big = actor("(module (memory 3))");
    let e = big.start().await.expect_err("3 pages in a 2-page slot");
    assert_eq!(e.kind(), ErrorKind::Compile, "{e}");
    assert!(e.to_string().contains("exceeds the limit"), "{e}");
    assert!(matches!(big.state(), ActorState::Failed(_)));

    // With the slot free, other instantiation failures keep their own kind
    // on the pool: a memory over the manifest's cap, a trapping data segment.
    let one_page = ComponentManifest::builder("pool")
        .limits(limits(1, 1000, Some(1_000_000)))
        .build()
        .expect("manifest");
    for (wat, kind) in [
        ("(module (memory 2))", ErrorKind::MemoryLimit),
        (
            r#"(module (memory 1) (data (i32.const 70000) "x"))"#,
            ErrorKind::Trap,
        ),
    ] {
        let mut a = ComponentActor::new(&runtime, ComponentSource::from_wat(wat), one_page.clone());
        let e = a.start().await.expect_err(wat);
        assert_eq!(e.kind(), kind, "{wat}: {e}");
    }
}

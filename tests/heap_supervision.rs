//! Heap gate (dhat) for supervision: a one-for-one supervisor restarts its
//! worker (`wat/supervised_worker.wat`, crashed by a `!` message) 1,000
//! times after a warm-up of 200 (tokio's channels reach their steady
//! number of blocks only after a hundred or so messages: with a 20-restart
//! warm-up the gate saw a one-off 3,968 bytes in 4 blocks, the same after
//! 1,000 and 3,000 restarts); the live heap must end exactly where it started
//! (0 bytes, 0 blocks). The same for 1,000 restarts of a worker that keeps
//! a standby instance (one is live before and after). Then 100 whole trees
//! (two workers, one with a standby, and a nested supervisor) are built,
//! started, stopped and dropped, with the same requirement. Its own test binary, so the dhat allocator sees only this
//! test. Prints the allocations per restart.

mod heap_support;

use std::time::Duration;

use component_actor::{
    ChildSpec, ComponentManifest, ErrorKind, Runtime, RuntimeConfig, Supervisor, SupervisorSpec,
};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const RESTARTS: u32 = 1_000;
const WARM_UP: u32 = 200;
const TREES: u32 = 100;

fn heap() -> (i64, i64, u64) {
    let s = dhat::HeapStats::get();
    (s.curr_bytes as i64, s.curr_blocks as i64, s.total_blocks)
}

fn worker(id: &str) -> ChildSpec {
    ChildSpec::actor(
        id,
        heap_support::fixture("supervised_worker.wat"),
        ComponentManifest::new(id).unwrap(),
    )
}

/// One restart: the worker traps, the supervisor starts a new instance.
/// The 1 ms intensity period, with 2 ms between crashes, keeps the restart
/// window at one entry.
async fn restart(tree: &Supervisor, path: &str, n: u32) {
    let address = tree.address(path).unwrap();
    assert_eq!(
        address.request("!").await.unwrap_err().kind(),
        ErrorKind::Trap
    );
    tree.report().await;
    tokio::time::sleep(Duration::from_millis(2)).await;
    let report = tree
        .children()
        .into_iter()
        .find(|c| c.path == path)
        .unwrap();
    assert_eq!((report.state, report.restarts), ("Ready", n));
}

#[test]
fn restarts_and_trees_return_the_heap_to_its_baseline() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
    let tree = tokio.block_on(async {
        let spec = SupervisorSpec::new()
            .intensity(1, Duration::from_millis(1))
            .child(worker("w"))
            .child(worker("s").standby(true));
        let tree = Supervisor::new(&runtime, spec).unwrap();
        tree.start().await.unwrap();
        for n in 1..=WARM_UP {
            restart(&tree, "w", n).await;
            restart(&tree, "s", n).await;
        }
        tree
    });

    // 1. Restarts; 2. restarts of a worker with a standby: each takes the
    // standby and has the next one made (during the 2 ms after it).
    for (path, what) in [("w", "restarts"), ("s", "restarts with a standby")] {
        heap_support::settle();
        let before = heap();
        tokio.block_on(async {
            for n in WARM_UP + 1..=WARM_UP + RESTARTS {
                restart(&tree, path, n).await;
            }
        });
        let after = heap();
        println!(
            "heap gate {what}: {RESTARTS} restarts, live heap growth {} bytes in {} blocks, {:.1} allocations per restart",
            after.0 - before.0,
            after.1 - before.1,
            (after.2 - before.2) as f64 / f64::from(RESTARTS)
        );
        assert_eq!(
            (after.0 - before.0, after.1 - before.1),
            (0, 0),
            "the live heap grew over {RESTARTS} {what}"
        );
    }

    // 3. Whole trees built, started, stopped and dropped.
    let one_tree = || async {
        let inner = SupervisorSpec::new().child(worker("x"));
        let spec = SupervisorSpec::new()
            .child(worker("a").standby(true))
            .child(ChildSpec::supervisor("inner", inner))
            .child(worker("b"));
        let t = Supervisor::new(&runtime, spec).unwrap();
        t.start().await.unwrap();
        assert_eq!(
            &t.address("inner/x").unwrap().request("add").await.unwrap()[..],
            b"1"
        );
        t.stop().await;
        drop(t);
        // The tasks end once their handles are gone.
        for _ in 0..4 {
            tokio::task::yield_now().await;
        }
    };
    tokio.block_on(async {
        for _ in 0..WARM_UP {
            one_tree().await;
        }
    });
    heap_support::settle();
    let before = heap();
    tokio.block_on(async {
        for _ in 0..TREES {
            one_tree().await;
        }
    });
    let after = heap();
    println!(
        "heap gate trees: {TREES} trees built, started, stopped and dropped, live heap growth {} bytes in {} blocks",
        after.0 - before.0,
        after.1 - before.1
    );
    assert_eq!(
        (after.0 - before.0, after.1 - before.1),
        (0, 0),
        "the live heap grew over {TREES} trees"
    );
    tokio.block_on(tree.stop());
}

//! The OTP contract with real fixtures: each strategy, each restart type,
//! intensity exhaustion, nested escalation, health restarts, the
//! shutdown-then-drop path with a hanging `_cleanup`, start in order and
//! stop in reverse order, addresses that survive restarts, trees from TOML.
//!
//! The worker is `wat/supervised_worker.wat`: each message adds one and is
//! answered with the count, so a count of 1 after a restart shows a fresh
//! instance and a higher one an instance that was left alone. `!` traps.

mod support;

use support::block_on;

use std::time::{Duration, Instant};

use component_actor::{
    ActorState, Address, ChildSpec, CleanupOutcome, ComponentManifest, ComponentSource, ErrorKind,
    EventKind, ResourceLimits, Restart, Runtime, RuntimeConfig, Shutdown, Strategy, Supervisor,
    SupervisorEvent, SupervisorSpec, SupervisorStatus, WasiConfig,
};
use tokio::sync::mpsc;

/// "It returns at all", 20 s: a broken supervisor fails its test sooner.
async fn bounded<F: std::future::Future>(what: &str, f: F) -> F::Output {
    support::within(Duration::from_secs(20), what, f).await
}

fn wat(name: &str) -> ComponentSource {
    ComponentSource::from_file(format!("{}/wat/{name}.wat", env!("CARGO_MANIFEST_DIR")))
}

fn worker(id: &str) -> ChildSpec {
    ChildSpec::actor(
        id,
        wat("supervised_worker"),
        ComponentManifest::new(id).unwrap(),
    )
}

async fn ask(tree: &Supervisor, path: &str, message: &str) -> Result<String, ErrorKind> {
    let address = tree
        .address(path)
        .unwrap_or_else(|| panic!("no child {path}"));
    match address.request(message.to_string()).await {
        Ok(reply) => Ok(String::from_utf8(reply.to_vec()).unwrap()),
        Err(e) => Err(e.kind()),
    }
}

/// Crashes `path` (its `!` traps) and waits until the supervisor has acted.
async fn crash(tree: &Supervisor, path: &str) {
    assert_eq!(ask(tree, path, "!").await, Err(ErrorKind::Trap), "{path}");
    tree.report().await;
}

fn restarts(tree: &Supervisor, path: &str) -> u32 {
    tree.children()
        .into_iter()
        .find(|c| c.path == path)
        .unwrap()
        .restarts
}

fn state(tree: &Supervisor, path: &str) -> &'static str {
    tree.children()
        .into_iter()
        .find(|c| c.path == path)
        .unwrap()
        .state
}

/// Sends one `add` to each child and returns the counts.
async fn counts(tree: &Supervisor, paths: &[&str]) -> Vec<Result<String, ErrorKind>> {
    let mut out = Vec::new();
    for p in paths {
        out.push(ask(tree, p, "add").await);
    }
    out
}

fn ok(n: &str) -> Result<String, ErrorKind> {
    Ok(n.to_string())
}

async fn three(strategy: Strategy) -> (Runtime, Supervisor) {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    let spec = SupervisorSpec::new()
        .strategy(strategy)
        .intensity(10, Duration::from_secs(3600))
        .child(worker("a"))
        .child(worker("b"))
        .child(worker("c"));
    let tree = Supervisor::new(&rt, spec).unwrap();
    tree.start().await.unwrap();
    assert_eq!(
        counts(&tree, &["a", "b", "c"]).await,
        [ok("1"), ok("1"), ok("1")]
    );
    (rt, tree)
}

#[test]
fn one_for_one_restarts_only_the_child_that_failed() {
    block_on(async {
        let (_rt, tree) = three(Strategy::OneForOne).await;
        crash(&tree, "b").await;
        assert_eq!(
            counts(&tree, &["a", "b", "c"]).await,
            [ok("2"), ok("1"), ok("2")]
        );
        assert_eq!(
            (
                restarts(&tree, "a"),
                restarts(&tree, "b"),
                restarts(&tree, "c")
            ),
            (0, 1, 0)
        );
        bounded("stop", tree.stop()).await;
    });
}

#[test]
fn one_for_all_restarts_every_child() {
    block_on(async {
        let (_rt, tree) = three(Strategy::OneForAll).await;
        crash(&tree, "b").await;
        assert_eq!(
            counts(&tree, &["a", "b", "c"]).await,
            [ok("1"), ok("1"), ok("1")]
        );
        // The restart is the failed child's.
        assert_eq!(
            (
                restarts(&tree, "a"),
                restarts(&tree, "b"),
                restarts(&tree, "c")
            ),
            (0, 1, 0)
        );
        bounded("stop", tree.stop()).await;
    });
}

#[test]
fn rest_for_one_restarts_the_failed_child_and_those_after_it() {
    block_on(async {
        let (_rt, tree) = three(Strategy::RestForOne).await;
        crash(&tree, "b").await;
        assert_eq!(
            counts(&tree, &["a", "b", "c"]).await,
            [ok("2"), ok("1"), ok("1")]
        );
        crash(&tree, "c").await;
        assert_eq!(
            counts(&tree, &["a", "b", "c"]).await,
            [ok("3"), ok("2"), ok("1")]
        );
        crash(&tree, "a").await;
        assert_eq!(
            counts(&tree, &["a", "b", "c"]).await,
            [ok("1"), ok("1"), ok("1")]
        );
        bounded("stop", tree.stop()).await;
    });
}

#[test]
fn restart_types_decide_which_ends_are_restarted() {
    block_on(async {
        let rt = Runtime::new(RuntimeConfig::default()).unwrap();
        let spec = SupervisorSpec::new()
            .intensity(10, Duration::from_secs(3600))
            .child(worker("permanent"))
            .child(worker("transient").restart(Restart::Transient))
            .child(worker("temporary").restart(Restart::Temporary));
        let tree = Supervisor::new(&rt, spec).unwrap();
        tree.start().await.unwrap();

        // A crash: permanent and transient come back, temporary does not.
        for p in ["permanent", "transient", "temporary"] {
            crash(&tree, p).await;
        }
        assert_eq!(state(&tree, "permanent"), "Ready");
        assert_eq!(state(&tree, "transient"), "Ready");
        assert_eq!(state(&tree, "temporary"), "Failed");
        assert_eq!(restarts(&tree, "temporary"), 0);
        assert_eq!(
            ask(&tree, "temporary", "add").await,
            Err(ErrorKind::Stopped)
        );

        // A normal end (a stop through the address): only permanent comes
        // back.
        for p in ["permanent", "transient"] {
            tree.address(p)
                .unwrap()
                .stop(Duration::from_millis(50))
                .await
                .unwrap();
        }
        tree.report().await;
        assert_eq!(state(&tree, "permanent"), "Ready");
        assert_eq!(restarts(&tree, "permanent"), 2);
        assert_eq!(state(&tree, "transient"), "Terminated");
        assert_eq!(restarts(&tree, "transient"), 1);
        assert_eq!(tree.status(), SupervisorStatus::Running);
        bounded("stop", tree.stop()).await;
    });
}

#[test]
fn a_temporary_sibling_stopped_by_one_for_all_stays_stopped() {
    block_on(async {
        let rt = Runtime::new(RuntimeConfig::default()).unwrap();
        let spec = SupervisorSpec::new()
            .strategy(Strategy::OneForAll)
            .child(worker("a"))
            .child(worker("t").restart(Restart::Temporary));
        let tree = Supervisor::new(&rt, spec).unwrap();
        tree.start().await.unwrap();
        crash(&tree, "a").await;
        assert_eq!(state(&tree, "a"), "Ready");
        assert_eq!(state(&tree, "t"), "Terminated");
        bounded("stop", tree.stop()).await;
    });
}

/// A started one_for_all tree of a permanent worker `p` and `second`.
async fn one_for_all_after_p(second: ChildSpec) -> (Runtime, Supervisor) {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    let spec = SupervisorSpec::new()
        .strategy(Strategy::OneForAll)
        .intensity(10, Duration::from_secs(3600))
        .child(worker("p"))
        .child(second);
    let tree = Supervisor::new(&rt, spec).unwrap();
    tree.start().await.unwrap();
    (rt, tree)
}

#[test]
fn a_temporary_child_that_ended_stays_down_through_a_group_restart() {
    block_on(async {
        let (_rt, tree) = one_for_all_after_p(worker("t").restart(Restart::Temporary)).await;
        // The temporary child ends (a crash): it is not restarted, and
        // under OTP it is gone for good, so a later group restart (the
        // permanent sibling crashing under one_for_all) leaves it down.
        crash(&tree, "t").await;
        assert_eq!(state(&tree, "t"), "Failed");
        crash(&tree, "p").await;
        assert_eq!(state(&tree, "p"), "Ready");
        assert_eq!(restarts(&tree, "p"), 1);
        assert_eq!(state(&tree, "t"), "Failed");
        assert_eq!(restarts(&tree, "t"), 0);
        assert_eq!(ask(&tree, "t", "add").await, Err(ErrorKind::Stopped));
        bounded("stop", tree.stop()).await;
    });
}

#[test]
fn a_transient_child_that_ended_normally_comes_back_with_a_group_restart() {
    block_on(async {
        let (_rt, tree) = one_for_all_after_p(worker("tr").restart(Restart::Transient)).await;
        // A normal end of a transient child is not restarted, but the child
        // stays in the group (unlike a temporary one): OTP's one_for_all
        // restart starts every child of the group again, this one too.
        tree.address("tr")
            .unwrap()
            .stop(Duration::from_millis(50))
            .await
            .unwrap();
        tree.report().await;
        assert_eq!(state(&tree, "tr"), "Terminated");
        crash(&tree, "p").await;
        assert_eq!(state(&tree, "p"), "Ready");
        assert_eq!(state(&tree, "tr"), "Ready");
        assert_eq!(ask(&tree, "tr", "add").await, ok("1"));
        bounded("stop", tree.stop()).await;
    });
}

#[test]
fn past_the_intensity_the_supervisor_stops_everything_and_fails() {
    block_on(async {
        let rt = Runtime::new(RuntimeConfig::default()).unwrap();
        // OTP's default: 1 restart in 5 s.
        let spec = SupervisorSpec::new().child(worker("a")).child(worker("b"));
        let (events, mut seen) = mpsc::unbounded_channel();
        let tree = Supervisor::with_events(&rt, spec, events).unwrap();
        tree.start().await.unwrap();
        crash(&tree, "b").await;
        assert_eq!(tree.status(), SupervisorStatus::Running);
        crash(&tree, "b").await;
        let SupervisorStatus::Failed(reason) = bounded("wait", tree.wait()).await else {
            panic!("not failed: {}", tree.status());
        };
        assert!(reason.contains("more than 1 restarts"), "{reason}");
        assert!(reason.contains("b:"), "{reason}");
        // a was stopped; b's last instance failed and was not restarted.
        assert_eq!(state(&tree, "a"), "Terminated");
        assert_eq!(state(&tree, "b"), "Failed");
        for p in ["a", "b"] {
            assert_eq!(ask(&tree, p, "add").await, Err(ErrorKind::Stopped));
        }
        // The stops ran in reverse order (b was down already), then it gave up.
        let mut tail = Vec::new();
        while let Ok(e) = seen.try_recv() {
            tail.push(e);
        }
        let stops: Vec<&str> = tail
            .iter()
            .filter(|e| e.what == EventKind::Stopped)
            .map(|e| e.path.as_str())
            .collect();
        assert_eq!(stops, ["a"]);
        assert!(matches!(
            tail.last().unwrap().what,
            EventKind::GaveUp { .. }
        ));
        // Started again, it starts afresh.
        tree.start().await.unwrap();
        assert_eq!(counts(&tree, &["a", "b"]).await, [ok("1"), ok("1")]);
        bounded("stop", tree.stop()).await;
    });
}

#[test]
fn intensity_zero_gives_up_on_the_first_failure() {
    block_on(async {
        let rt = Runtime::new(RuntimeConfig::default()).unwrap();
        let spec = SupervisorSpec::new()
            .intensity(0, Duration::from_secs(5))
            .child(worker("a"));
        let tree = Supervisor::new(&rt, spec).unwrap();
        tree.start().await.unwrap();
        crash(&tree, "a").await;
        assert!(matches!(tree.status(), SupervisorStatus::Failed(_)));
        assert_eq!(restarts(&tree, "a"), 0);
    });
}

#[test]
fn a_nested_supervisor_that_gives_up_is_restarted_by_its_parent() {
    block_on(async {
        let rt = Runtime::new(RuntimeConfig::default()).unwrap();
        let inner = SupervisorSpec::new()
            .intensity(0, Duration::from_secs(5))
            .child(worker("w"));
        let spec = SupervisorSpec::new()
            .child(worker("first"))
            .child(ChildSpec::supervisor("inner", inner));
        let tree = Supervisor::new(&rt, spec).unwrap();
        tree.start().await.unwrap();
        let w = tree.address("inner/w").unwrap();
        assert_eq!(ask(&tree, "inner/w", "add").await, ok("1"));
        assert_eq!(ask(&tree, "first", "add").await, ok("1"));

        // The inner one has no restarts to give: it fails, its parent
        // restarts it (and its worker with it), behind the same address.
        crash(&tree, "inner/w").await;
        let report = bounded("restart", tree.wait_for_restarts("inner", 1))
            .await
            .unwrap();
        assert_eq!(report.state, "Running");
        assert!(report.last_exit.unwrap().contains("more than 0 restarts"));
        assert_eq!(w.state(), ActorState::Ready);
        assert_eq!(&w.request("add").await.unwrap()[..], b"1");
        assert_eq!(ask(&tree, "first", "add").await, ok("2"));

        // Once more within 5 s: the root's intensity (1) is spent too, and
        // the failure escalates to the top.
        crash(&tree, "inner/w").await;
        let status = bounded("wait", tree.wait()).await;
        assert!(matches!(status, SupervisorStatus::Failed(_)), "{status}");
        assert_eq!(state(&tree, "first"), "Terminated");
        assert_eq!(state(&tree, "inner"), "Failed");
    });
}

#[test]
fn an_end_reported_by_an_instance_already_replaced_is_ignored() {
    block_on(async {
        let rt = Runtime::new(RuntimeConfig::default()).unwrap();
        let inner = SupervisorSpec::new()
            .intensity(0, Duration::from_secs(5))
            .child(worker("w"));
        let spec = SupervisorSpec::new()
            .strategy(Strategy::OneForAll)
            .intensity(10, Duration::from_secs(3600))
            .child(worker("a"))
            .child(ChildSpec::supervisor("inner", inner));
        let tree = Supervisor::new(&rt, spec).unwrap();
        tree.start().await.unwrap();
        assert_eq!(counts(&tree, &["a", "inner/w"]).await, [ok("1"), ok("1")]);

        // Both fail at once: `a` traps, and `w` traps, which makes `inner`
        // (no restarts to give) give up. Whichever end the root takes first
        // restarts the whole group (one_for_all), `inner` with a new run;
        // the other end, reported by an instance that group restart already
        // replaced, must change nothing: one restart in all, not two.
        let a = tree.address("a").unwrap().try_send("!").unwrap();
        let w = tree.address("inner/w").unwrap().try_send("!").unwrap();
        assert_eq!(a.await.unwrap_err().kind(), ErrorKind::Trap);
        assert_eq!(w.await.unwrap_err().kind(), ErrorKind::Trap);
        bounded("settle", tree.report()).await;
        bounded("settle again", tree.report()).await;
        assert_eq!(
            restarts(&tree, "a") + restarts(&tree, "inner"),
            1,
            "{:?}",
            tree.children()
        );
        assert_eq!(tree.status(), SupervisorStatus::Running);
        assert_eq!(counts(&tree, &["a", "inner/w"]).await, [ok("1"), ok("1")]);
        tree.stop().await;
    });
}

#[test]
fn a_running_supervisor_refuses_a_second_start_and_starts_again_once_stopped() {
    block_on(async {
        let (_rt, tree) = three(Strategy::OneForOne).await;
        assert_eq!(worker("a").id(), "a");
        let report = tree.report().await;
        let paths: Vec<&str> = report.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["a", "b", "c"]);
        assert_eq!(tree.status().to_string(), "Running");
        assert_eq!(
            SupervisorStatus::Failed("why".into()).to_string(),
            "Failed(why)"
        );
        let e = tree.start().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidTransition, "{e}");
        assert_eq!(e.component(), "supervisor", "{e}");
        assert_eq!(e.message(), "cannot start: supervisor is Running");
        // Nothing was restarted by the refused start.
        assert_eq!(
            counts(&tree, &["a", "b", "c"]).await,
            [ok("2"), ok("2"), ok("2")]
        );
        tree.stop().await;
        assert_eq!(tree.status(), SupervisorStatus::Stopped);
        tree.start().await.unwrap();
        assert_eq!(
            counts(&tree, &["a", "b", "c"]).await,
            [ok("1"), ok("1"), ok("1")]
        );
        tree.stop().await;
    });
}

#[test]
fn start_in_order_and_stop_in_reverse_order() {
    block_on(async {
        let rt = Runtime::new(RuntimeConfig::default()).unwrap();
        let inner = SupervisorSpec::new().child(worker("x")).child(worker("y"));
        let spec = SupervisorSpec::new()
            .child(worker("a"))
            .child(ChildSpec::supervisor("inner", inner))
            .child(worker("b"));
        let (events, mut seen) = mpsc::unbounded_channel();
        let tree = Supervisor::with_events(&rt, spec, events).unwrap();
        tree.start().await.unwrap();
        tree.stop().await;
        assert_eq!(tree.status(), SupervisorStatus::Stopped);
        let mut all: Vec<SupervisorEvent> = Vec::new();
        while let Ok(e) = seen.try_recv() {
            all.push(e);
        }
        let of = |kind: EventKind| -> Vec<String> {
            all.iter()
                .filter(|e| e.what == kind)
                .map(|e| e.path.clone())
                .collect()
        };
        assert_eq!(
            of(EventKind::Started),
            ["a", "inner/x", "inner/y", "inner", "b", ""]
        );
        assert_eq!(
            of(EventKind::Stopped),
            ["b", "inner/y", "inner/x", "inner", "a", ""]
        );
        for c in tree.children() {
            assert!(matches!(c.state, "Terminated" | "Stopped"), "{c:?}");
        }
    });
}

#[test]
fn a_child_that_does_not_start_fails_the_start_and_stops_the_others() {
    block_on(async {
        let rt = Runtime::new(RuntimeConfig::default()).unwrap();
        let spec = SupervisorSpec::new()
            .child(worker("a"))
            .child(ChildSpec::actor(
                "denied",
                wat("unknown_import"),
                ComponentManifest::new("denied").unwrap(),
            ))
            .child(worker("c"));
        let (events, mut seen) = mpsc::unbounded_channel();
        let tree = Supervisor::with_events(&rt, spec, events).unwrap();
        let e = tree.start().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        assert!(matches!(tree.status(), SupervisorStatus::Failed(r) if r.contains("denied")));
        assert_eq!(state(&tree, "a"), "Terminated");
        assert_eq!(state(&tree, "c"), "Creating");
        let mut failed = None;
        while let Ok(e) = seen.try_recv() {
            if let EventKind::StartFailed {
                kind, permanent, ..
            } = e.what
            {
                failed = Some((e.path, kind, permanent));
            }
        }
        // The report says a retry cannot help.
        assert_eq!(
            failed,
            Some(("denied".into(), ErrorKind::PermissionDenied, true))
        );
    });
}

#[test]
fn a_child_unhealthy_on_consecutive_checks_is_restarted() {
    block_on(async {
        let rt = Runtime::new(RuntimeConfig::default()).unwrap();
        let spec = SupervisorSpec::new()
            .health(2, Duration::from_secs(3600))
            .child(worker("a"))
            .child(worker("b"));
        let tree = Supervisor::new(&rt, spec).unwrap();
        tree.start().await.unwrap();
        assert_eq!(counts(&tree, &["a", "b"]).await, [ok("1"), ok("1")]);
        assert_eq!(ask(&tree, "a", "sick").await, ok("sick"));
        tree.check_health().await;
        assert_eq!(restarts(&tree, "a"), 0, "one failed check is not enough");
        tree.check_health().await;
        assert_eq!(restarts(&tree, "a"), 1);
        let a = tree.children().into_iter().find(|c| c.path == "a").unwrap();
        assert!(
            a.last_exit
                .unwrap()
                .contains("unhealthy on 2 consecutive checks")
        );
        assert_eq!(counts(&tree, &["a", "b"]).await, [ok("1"), ok("2")]);

        // A good check in between resets the count.
        assert_eq!(ask(&tree, "b", "sick").await, ok("sick"));
        tree.check_health().await;
        assert_eq!(ask(&tree, "b", "well").await, ok("well"));
        tree.check_health().await;
        assert_eq!(ask(&tree, "b", "sick").await, ok("sick"));
        tree.check_health().await;
        assert_eq!(restarts(&tree, "b"), 0);
        bounded("stop", tree.stop()).await;
    });
}

#[test]
fn health_checks_run_on_their_timer() {
    block_on(async {
        let rt = Runtime::new(RuntimeConfig::default()).unwrap();
        let spec = SupervisorSpec::new()
            .health(1, Duration::from_millis(10))
            .child(worker("a"));
        let tree = Supervisor::new(&rt, spec).unwrap();
        tree.start().await.unwrap();
        assert_eq!(ask(&tree, "a", "sick").await, ok("sick"));
        let report = bounded("restart", tree.wait_for_restarts("a", 1))
            .await
            .unwrap();
        assert_eq!(report.restarts, 1);
        bounded("stop", tree.stop()).await;
    });
}

#[test]
fn the_first_health_check_waits_one_interval() {
    block_on(async {
        let rt = Runtime::new(RuntimeConfig::default()).unwrap();
        // Unhealthy from its start; one failed check would restart it.
        let sick = ChildSpec::actor(
            "sick",
            wat("health_unhealthy"),
            ComponentManifest::new("sick").unwrap(),
        );
        let spec = SupervisorSpec::new()
            .intensity(10, Duration::from_secs(3600))
            .health(1, Duration::from_secs(3600))
            .child(sick);
        let tree = Supervisor::new(&rt, spec).unwrap();
        tree.start().await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        tree.report().await;
        assert_eq!(restarts(&tree, "sick"), 0, "checked before its interval");
        bounded("stop", tree.stop()).await;
    });
}

#[test]
fn a_hanging_cleanup_is_cut_off_at_the_shutdown_time() {
    block_on(async {
        let rt = Runtime::new(RuntimeConfig::default()).unwrap();
        let manifest = ComponentManifest::from_file(format!(
            "{}/wat/fuel_unlimited.toml",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let spec = SupervisorSpec::new().child(
            ChildSpec::actor("hang", wat("cleanup_hang"), manifest)
                .shutdown(Shutdown::Timeout(Duration::from_millis(20))),
        );
        let tree = Supervisor::new(&rt, spec).unwrap();
        tree.start().await.unwrap();
        let hang = tree.address("hang").unwrap();
        let t = Instant::now();
        bounded("stop", tree.stop()).await;
        // "It returns at all", with a generous margin over the 20 ms.
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
        assert_eq!(hang.state(), ActorState::Terminated);
        assert_eq!(hang.handle().last_cleanup(), Some(CleanupOutcome::TimedOut));
    });
}

#[test]
fn an_infinite_shutdown_leaves_cleanup_its_call_limit() {
    block_on(async {
        let rt = Runtime::new(RuntimeConfig::default()).unwrap();
        // `_cleanup` spins for about 50 million iterations (tens of ms),
        // well within the manifest's 5 s call limit and without a fuel cap.
        let source = ComponentSource::from_wat(
            r#"(module (func (export "_cleanup") (local $i i32)
                (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1)))
                         (br_if $l (i32.lt_u (local.get $i) (i32.const 50000000))))))"#,
        );
        let manifest = ComponentManifest::builder("slow")
            .limits(ResourceLimits {
                max_fuel: None,
                max_call_duration: Duration::from_secs(5),
                ..ResourceLimits::default()
            })
            .build()
            .unwrap();
        let spec = SupervisorSpec::new()
            .child(ChildSpec::actor("slow", source, manifest).shutdown(Shutdown::Infinity));
        let tree = Supervisor::new(&rt, spec).unwrap();
        tree.start().await.unwrap();
        let slow = tree.address("slow").unwrap();
        bounded("stop", tree.stop()).await;
        assert_eq!(
            slow.handle().last_cleanup(),
            Some(CleanupOutcome::Completed)
        );
    });
}

#[test]
fn messages_sent_while_a_child_is_down_get_a_typed_error() {
    block_on(async {
        let rt = Runtime::new(RuntimeConfig::default()).unwrap();
        let spec = SupervisorSpec::new()
            .intensity(0, Duration::from_secs(5))
            .child(worker("a"));
        let tree = Supervisor::new(&rt, spec).unwrap();
        tree.start().await.unwrap();
        let a: Address = tree.address("a").unwrap();
        // Queued behind the crash: answered, never lost.
        let first = a.try_send("!").unwrap();
        let second = a.try_send("add").unwrap();
        assert_eq!(first.await.unwrap_err().kind(), ErrorKind::Trap);
        assert_eq!(second.await.unwrap_err().kind(), ErrorKind::Stopped);
        tree.report().await;
        assert_eq!(a.try_send("add").unwrap_err().kind(), ErrorKind::Stopped);
    });
}

#[test]
fn dropping_the_supervisor_stops_the_tree() {
    block_on(async {
        let rt = Runtime::new(RuntimeConfig::default()).unwrap();
        let tree = Supervisor::new(&rt, SupervisorSpec::new().child(worker("a"))).unwrap();
        tree.start().await.unwrap();
        let a = tree.address("a").unwrap();
        drop(tree);
        let t = Instant::now();
        while a.state() != ActorState::Terminated {
            assert!(t.elapsed() < Duration::from_secs(10), "still {}", a.state());
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
}

#[test]
fn specs_that_cannot_be_supervised_are_refused() {
    block_on(async {
        let rt = Runtime::new(RuntimeConfig::default()).unwrap();
        for (spec, needle) in [
            (
                SupervisorSpec::new().child(worker("a")).child(worker("a")),
                "two children",
            ),
            (SupervisorSpec::new().child(worker("a/b")), "without '/'"),
            (
                SupervisorSpec::new().child(ChildSpec::actor(
                    "",
                    wat("supervised_worker"),
                    ComponentManifest::new("x").unwrap(),
                )),
                "non-empty",
            ),
            (SupervisorSpec::new().intensity(1, Duration::ZERO), "period"),
            (
                SupervisorSpec::new().health(0, Duration::from_secs(1)),
                "at least 1",
            ),
            (
                SupervisorSpec::new().child(ChildSpec::supervisor(
                    "inner",
                    SupervisorSpec::new().child(worker("x")).child(worker("x")),
                )),
                "inner",
            ),
            (
                SupervisorSpec::new()
                    .child(ChildSpec::supervisor("inner", SupervisorSpec::new()).standby(true)),
                "standby",
            ),
        ] {
            let e = Supervisor::new(&rt, spec).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config, "{e}");
            assert!(e.to_string().contains(needle), "{e}");
        }
    });
    // Outside a tokio runtime: a typed error, no panic.
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    let e = Supervisor::new(&rt, SupervisorSpec::new()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
}

#[test]
fn a_tree_from_a_file() {
    block_on(async {
        let rt = Runtime::new(RuntimeConfig::default()).unwrap();
        let spec =
            SupervisorSpec::from_file(format!("{}/trees/demo.toml", env!("CARGO_MANIFEST_DIR")))
                .unwrap();
        // The counter keeps a standby; no other child does.
        assert_eq!(format!("{spec:?}").matches("standby: true").count(), 1);
        let tree = Supervisor::new(&rt, spec).unwrap();
        tree.start().await.unwrap();
        let paths: Vec<String> = tree.children().into_iter().map(|c| c.path).collect();
        assert_eq!(
            paths,
            ["counter", "pipeline", "pipeline/source", "pipeline/sink"]
        );
        assert_eq!(ask(&tree, "pipeline/source", "add").await, ok("1"));
        assert_eq!(ask(&tree, "pipeline/sink", "hi").await, ok("hi"));
        bounded("stop", tree.stop()).await;
    });
}

#[test]
fn bad_tree_files_are_typed_errors() {
    let dir = std::env::temp_dir().join(format!("ca-trees-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        ("strategy = \"one_for_none\"\n", "one_for_none"),
        ("colour = 1\n", "colour"),
        ("[[children]]\nid = \"a\"\n", "exactly one of"),
        (
            "[[children]]\nid = \"a\"\nmodule = \"a.wat\"\nshutdown_ms = \"never\"\n",
            "never",
        ),
        ("health_interval_ms = 5\n", "health_interval_ms"),
        (
            "[[children]]\nid = \"a\"\nmodule = \"a.wat\"\nmanifest = \"missing.toml\"\n",
            "missing.toml",
        ),
        (
            "[[children]]\nid = \"n\"\nstandby = true\n[children.supervisor]\n",
            "`standby` is for actor children",
        ),
        (
            "[[children]]\nid = \"a\"\nmodule = \"a.wat\"\nstandby = \"yes\"\n",
            "standby",
        ),
    ];
    for (i, (text, needle)) in cases.iter().enumerate() {
        let file = dir.join(format!("t{i}.toml"));
        std::fs::write(&file, text).unwrap();
        let e = SupervisorSpec::from_file(&file).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::Manifest | ErrorKind::Load),
            "{e}"
        );
        assert!(e.to_string().contains(needle), "{text:?}: {e}");
        assert_eq!(e.to_string().lines().count(), 1, "{e}");
    }
    let e = SupervisorSpec::from_file(dir.join("absent.toml")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Load);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A child with a standby restarts as a new instance under every strategy,
/// twice (the second restart takes the standby made after the first); its
/// siblings are left alone, or stopped (their standbys discarded) and
/// started as new instances, as the strategy says.
#[test]
fn children_with_a_standby_restart_as_new_instances_under_every_strategy() {
    block_on(async {
        for (strategy, after) in [
            (Strategy::OneForOne, [ok("2"), ok("1"), ok("2")]),
            (Strategy::OneForAll, [ok("1"), ok("1"), ok("1")]),
            (Strategy::RestForOne, [ok("2"), ok("1"), ok("1")]),
        ] {
            let rt = Runtime::new(RuntimeConfig::default()).unwrap();
            let spec = SupervisorSpec::new()
                .strategy(strategy)
                .intensity(10, Duration::from_secs(3600))
                .child(worker("a").standby(true))
                .child(worker("b").standby(true))
                .child(worker("c").standby(true));
            let tree = Supervisor::new(&rt, spec).unwrap();
            tree.start().await.unwrap();
            assert_eq!(
                counts(&tree, &["a", "b", "c"]).await,
                [ok("1"), ok("1"), ok("1")]
            );
            for n in 1..=2 {
                // Time for the standbys to be made.
                tokio::time::sleep(Duration::from_millis(20)).await;
                crash(&tree, "b").await;
                assert_eq!(restarts(&tree, "b"), n, "{strategy:?}");
            }
            assert_eq!(counts(&tree, &["a", "b", "c"]).await, after, "{strategy:?}");
            bounded("stop", tree.stop()).await;
        }
    });
}

/// A supervised child with a standby restarts into the instance made
/// ahead: `wat/standby_clock.wat` answers its instance's age, which is
/// older than the time between the start and the crash.
#[test]
fn a_supervised_restart_takes_the_childs_standby() {
    block_on(async {
        let rt = Runtime::new(RuntimeConfig::default()).unwrap();
        let clock = |standby: bool| {
            let manifest = ComponentManifest::builder("clock")
                .wasi(WasiConfig::default())
                .build()
                .unwrap();
            ChildSpec::actor("clock", wat("standby_clock"), manifest).standby(standby)
        };
        let ahead = Duration::from_millis(400);
        for standby in [true, false] {
            let tree = Supervisor::new(&rt, SupervisorSpec::new().child(clock(standby))).unwrap();
            tree.start().await.unwrap();
            tokio::time::sleep(ahead).await;
            let clock = tree.address("clock").unwrap();
            assert_eq!(
                clock.request("!").await.unwrap_err().kind(),
                ErrorKind::Trap
            );
            tree.report().await;
            let reply = clock.request("age?").await.unwrap();
            let age = Duration::from_nanos(u64::from_le_bytes(reply[..].try_into().unwrap()));
            // Made within moments of the start, long before the crash.
            assert_eq!(age >= ahead / 2, standby, "standby {standby}: age {age:?}");
            bounded("stop", tree.stop()).await;
        }
    });
}

//! Model-based property test of the supervisor against a small reference
//! model of OTP's rules: random strategies, intensities, restart types and
//! health policies over 1-4 real workers (`wat/supervised_worker.wat`:
//! each message adds one and is answered with the count, `!` traps,
//! `sick` / `well` set what `_health` reports), driven by random crashes,
//! stops through a child's address, health results and rounds of health
//! checks, and stops and starts of the supervisor itself. After every step
//! the running children, every restart count, the supervisor's status and
//! each child's message count (a fresh instance counts from 1) must match
//! the model.
//!
//! The intensity period is an hour, so no restart leaves the window during
//! a case; the window's sliding is unit-tested with synthetic clocks in
//! `src/supervisor/rules.rs`.

mod support;

use std::time::Duration;
use support::cases;

use component_actor::{
    ChildSpec, ComponentManifest, ComponentSource, ErrorKind, Restart, Runtime, RuntimeConfig,
    Strategy as Otp, Supervisor, SupervisorSpec, SupervisorStatus,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};

#[derive(Debug, Clone, Copy)]
enum Op {
    /// An `add` message: answered with the count, or Stopped if the child
    /// is not running.
    Add(usize),
    /// A `!` message: the child traps (an abnormal end).
    Crash(usize),
    /// A stop through the child's address (a normal end).
    StopChild(usize),
    /// `sick` or `well`.
    Health(usize, bool),
    /// One round of health checks.
    Check,
    /// The supervisor stopped, then started again.
    Restart,
}

fn op(children: usize) -> impl Strategy<Value = Op> {
    let c = 0..children;
    prop_oneof![
        3 => c.clone().prop_map(Op::Add),
        3 => c.clone().prop_map(Op::Crash),
        1 => c.clone().prop_map(Op::StopChild),
        2 => (c, any::<bool>()).prop_map(|(i, sick)| Op::Health(i, sick)),
        2 => Just(Op::Check),
        1 => Just(Op::Restart),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    strategy: Otp,
    intensity: u32,
    health: Option<u32>,
    restarts: Vec<Restart>,
    ops: Vec<Op>,
}

fn case() -> impl Strategy<Value = Case> {
    let otp = prop_oneof![
        Just(Otp::OneForOne),
        Just(Otp::OneForAll),
        Just(Otp::RestForOne)
    ];
    let restart = prop_oneof![
        2 => Just(Restart::Permanent),
        1 => Just(Restart::Transient),
        1 => Just(Restart::Temporary),
    ];
    (
        otp,
        0u32..4,
        proptest::option::of(1u32..3),
        proptest::collection::vec(restart, 1..=4),
    )
        .prop_flat_map(|(strategy, intensity, health, restarts)| {
            let n = restarts.len();
            proptest::collection::vec(op(n), 1..30).prop_map(move |ops| Case {
                strategy,
                intensity,
                health,
                restarts: restarts.clone(),
                ops,
            })
        })
}

// ------------------------------------------------------------------ the model

#[derive(Debug, Clone, Default)]
struct Child {
    running: bool,
    /// A temporary child that ended (or was stopped by a sibling's
    /// restart): not started again until the supervisor is.
    done: bool,
    restarts: u32,
    count: u32,
    sick: bool,
    unhealthy: u32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Status {
    Running,
    Stopped,
    Failed,
}

struct Model {
    strategy: Otp,
    intensity: u32,
    health: Option<u32>,
    restart: Vec<Restart>,
    children: Vec<Child>,
    status: Status,
    /// Restarts since the supervisor last started (all inside the window).
    window: u32,
}

impl Model {
    fn new(c: &Case) -> Self {
        let mut m = Self {
            strategy: c.strategy,
            intensity: c.intensity,
            health: c.health,
            restart: c.restarts.clone(),
            children: vec![Child::default(); c.restarts.len()],
            status: Status::Stopped,
            window: 0,
        };
        m.start();
        m
    }

    fn launch(&mut self, i: usize) {
        let c = &mut self.children[i];
        c.running = true;
        c.count = 0;
        c.sick = false;
        c.unhealthy = 0;
    }

    fn start(&mut self) {
        self.window = 0;
        for i in 0..self.children.len() {
            self.children[i].done = false;
            self.launch(i);
        }
        self.status = Status::Running;
    }

    fn stop_all(&mut self) {
        for c in &mut self.children {
            c.running = false;
        }
    }

    /// Child `i` ended on its own.
    fn exit(&mut self, i: usize, abnormal: bool) {
        self.children[i].running = false;
        let restart = self.restart[i];
        let again = match restart {
            Restart::Permanent => true,
            Restart::Transient => abnormal,
            Restart::Temporary => false,
        };
        if again {
            self.restart_from(i);
        } else if restart == Restart::Temporary {
            self.children[i].done = true;
        }
    }

    fn restart_from(&mut self, i: usize) {
        self.window += 1;
        if self.window > self.intensity {
            self.stop_all();
            self.status = Status::Failed;
            return;
        }
        self.children[i].restarts += 1;
        let n = self.children.len();
        let range = match self.strategy {
            Otp::OneForOne => i..i + 1,
            Otp::OneForAll => 0..n,
            Otp::RestForOne => i..n,
        };
        for j in range.clone() {
            self.children[j].running = false;
        }
        for j in range {
            if j != i && self.restart[j] == Restart::Temporary {
                self.children[j].done = true;
            }
            if !self.children[j].done {
                self.launch(j);
            }
        }
    }

    fn check(&mut self) {
        let Some(limit) = self.health else { return };
        for i in 0..self.children.len() {
            if self.status != Status::Running || !self.children[i].running {
                continue;
            }
            let c = &mut self.children[i];
            if !c.sick {
                c.unhealthy = 0;
                continue;
            }
            c.unhealthy += 1;
            if c.unhealthy >= limit {
                // Stopped, and ended as a failure.
                self.exit(i, true);
            }
        }
    }
}

// ------------------------------------------------------------------ the real thing

fn worker(i: usize, restart: Restart) -> ChildSpec {
    let source = ComponentSource::from_file(format!(
        "{}/wat/supervised_worker.wat",
        env!("CARGO_MANIFEST_DIR")
    ));
    let id = format!("w{i}");
    ChildSpec::actor(&id, source, ComponentManifest::new(&id).unwrap()).restart(restart)
}

async fn ask(tree: &Supervisor, i: usize, message: &str) -> Result<String, ErrorKind> {
    let address = tree.address(&format!("w{i}")).unwrap();
    match address.request(message.to_string()).await {
        Ok(r) => Ok(String::from_utf8(r.to_vec()).unwrap()),
        Err(e) => Err(e.kind()),
    }
}

fn check_against(tree: &Supervisor, m: &Model, step: usize) -> Result<(), TestCaseError> {
    let status = match tree.status() {
        SupervisorStatus::Running => Status::Running,
        SupervisorStatus::Stopped => Status::Stopped,
        SupervisorStatus::Failed(_) => Status::Failed,
        other => return Err(TestCaseError::fail(format!("step {step}: status {other}"))),
    };
    prop_assert_eq!(status, m.status, "step {}: status", step);
    for (i, (report, child)) in tree.children().iter().zip(&m.children).enumerate() {
        prop_assert_eq!(
            report.state == "Ready",
            child.running,
            "step {}: w{} is {}",
            step,
            i,
            report.state
        );
        prop_assert_eq!(
            report.restarts,
            child.restarts,
            "step {}: w{} restarts",
            step,
            i
        );
    }
    Ok(())
}

fn run_case(rt: &Runtime, c: &Case) -> Result<(), TestCaseError> {
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tokio.block_on(async {
        let mut spec = SupervisorSpec::new()
            .strategy(c.strategy)
            .intensity(c.intensity, Duration::from_secs(3600));
        if let Some(n) = c.health {
            spec = spec.health(n, Duration::from_secs(3600));
        }
        for (i, r) in c.restarts.iter().enumerate() {
            spec = spec.child(worker(i, *r));
        }
        let tree = Supervisor::new(rt, spec).unwrap();
        tree.start().await.unwrap();
        let mut m = Model::new(c);
        check_against(&tree, &m, 0)?;
        for (step, op) in c.ops.iter().enumerate() {
            let step = step + 1;
            let running = |m: &Model, i: usize| m.children[i].running;
            match *op {
                Op::Add(i) => {
                    let got = ask(&tree, i, "add").await;
                    if running(&m, i) {
                        m.children[i].count += 1;
                        prop_assert_eq!(got, Ok(m.children[i].count.to_string()), "step {}", step);
                    } else {
                        prop_assert_eq!(got, Err(ErrorKind::Stopped), "step {}", step);
                    }
                }
                Op::Crash(i) => {
                    let got = ask(&tree, i, "!").await;
                    if running(&m, i) {
                        prop_assert_eq!(got, Err(ErrorKind::Trap), "step {}", step);
                        m.exit(i, true);
                    } else {
                        prop_assert_eq!(got, Err(ErrorKind::Stopped), "step {}", step);
                    }
                }
                Op::StopChild(i) => {
                    let address = tree.address(&format!("w{i}")).unwrap();
                    address.stop(Duration::from_millis(50)).await.unwrap();
                    if running(&m, i) {
                        m.exit(i, false);
                    }
                }
                Op::Health(i, sick) => {
                    let word = if sick { "sick" } else { "well" };
                    let got = ask(&tree, i, word).await;
                    if running(&m, i) {
                        m.children[i].sick = sick;
                        prop_assert_eq!(got, Ok(word.to_string()), "step {}", step);
                    } else {
                        prop_assert_eq!(got, Err(ErrorKind::Stopped), "step {}", step);
                    }
                }
                Op::Check => {
                    tree.check_health().await;
                    m.check();
                }
                Op::Restart => {
                    tree.stop().await;
                    m.stop_all();
                    if m.status == Status::Running {
                        m.status = Status::Stopped;
                    }
                    check_against(&tree, &m, step)?;
                    tree.start().await.unwrap();
                    m.start();
                }
            }
            tree.report().await;
            check_against(&tree, &m, step)?;
        }
        tree.stop().await;
        Ok(())
    })
}

#[test]
fn the_supervisor_follows_the_otp_model() {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    let mut runner = TestRunner::new(Config {
        cases: cases(300),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/prop_supervision.txt",
        ))),
        ..Config::default()
    });
    if let Err(e) = runner.run(&case(), |c| run_case(&rt, &c)) {
        panic!("{e}");
    }
}

//! `std` or `loom` synchronization, chosen by `--cfg component_actor_loom`
//! (a crate-specific cfg, so tokio and wasmtime build as usual under loom).

#[cfg(component_actor_loom)]
pub(crate) use loom::sync::Mutex;

#[cfg(not(component_actor_loom))]
pub(crate) use std::sync::Mutex;

#[cfg(component_actor_loom)]
pub(crate) type MutexGuardAlias<'a, T> = loom::sync::MutexGuard<'a, T>;

#[cfg(not(component_actor_loom))]
pub(crate) type MutexGuardAlias<'a, T> = std::sync::MutexGuard<'a, T>;

/// Atomics (`std` or `loom`).
pub(crate) mod atomic {
    #[cfg(component_actor_loom)]
    pub(crate) use loom::sync::atomic::{AtomicU64, Ordering};

    #[cfg(not(component_actor_loom))]
    pub(crate) use std::sync::atomic::{AtomicU64, Ordering};
}

/// Thread handles and parking (`std` or `loom`).
pub(crate) mod thread {
    #[cfg(component_actor_loom)]
    pub(crate) use loom::thread::{Thread, current, park};

    #[cfg(not(component_actor_loom))]
    pub(crate) use std::thread::{Thread, current, park};
}

/// Runs `f` under loom and prints how many interleavings it explored: what
/// every loom model in this crate runs.
#[cfg(all(test, component_actor_loom))]
pub(crate) fn loom_model(name: &str, f: impl Fn() + Sync + Send + 'static) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let runs = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let start = std::time::Instant::now();
    loom::model(move || {
        counter.fetch_add(1, Ordering::Relaxed);
        f();
    });
    println!(
        "loom model {name}: {} interleavings in {:?}",
        runs.load(Ordering::Relaxed),
        start.elapsed()
    );
}

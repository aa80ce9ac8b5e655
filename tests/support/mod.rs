//! Helpers shared by the integration tests (each test file that uses them
//! declares `mod support;`).

#![allow(dead_code)] // each test binary uses part of this module

use std::future::Future;
use std::time::Duration;

/// A one-thread tokio runtime running `f`: a spawned actor's task runs
/// only when the test awaits, so what is queued when is decided by the
/// test, not by timing.
pub fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f)
}

/// "It returns at all": `f`'s output, or a panic naming `what` if it takes
/// longer than `limit`, so a regression fails the test instead of hanging
/// CI. Only for that point: a limit here is generous, never a speed target.
pub async fn within<F: Future>(limit: Duration, what: &str, f: F) -> F::Output {
    tokio::time::timeout(limit, f)
        .await
        .unwrap_or_else(|_| panic!("{what} did not return within {limit:?}"))
}

/// [`within`] 60 s: the bound for operations on guests that may hang.
pub async fn bounded<F: Future>(what: &str, f: F) -> F::Output {
    within(Duration::from_secs(60), what, f).await
}

/// The proptest case count: `PROPTEST_CASES` if set, else `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

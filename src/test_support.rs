//! Helpers for the crate's unit tests.

/// Runs `f` to completion on a new one-thread tokio runtime with its
/// timers and I/O enabled.
pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f)
}

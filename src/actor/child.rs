//! The supervisor contract: [`Child`] and [`ChildHealth`].

use std::future::Future;
use std::time::Duration;

/// What a health check found.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChildHealth {
    /// Running and well.
    Healthy,
    /// Running, but reports a problem.
    Degraded(String),
    /// Not running, or its health check failed.
    Failed(String),
}

/// A child a supervisor can start, stop and health-check.
///
/// The futures are `Send`, so a supervisor can drive children from a
/// multi-thread runtime.
pub trait Child {
    /// The error `start` and `stop` report.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Starts the child.
    fn start(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Stops the child, giving its cleanup at most `timeout`.
    fn stop(&mut self, timeout: Duration) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Checks the child's health without changing its state.
    fn health_check(&self) -> impl Future<Output = ChildHealth> + Send;
}

//! How an actor makes an instance: a [`Recipe`] (the checked module and
//! everything a new store needs, owned, so it can also be followed in a
//! task of its own) and a [`Standby`], an instance made ahead of the start
//! that will need it (see [`ComponentActor::with_standby`]).
//!
//! [`ComponentActor::with_standby`]: crate::ComponentActor::with_standby

use std::sync::Arc;

use crate::error::ComponentError;
use crate::manifest::{ResourceLimits, WasiConfig};
use crate::runtime::engine::Runtime;
use crate::runtime::instance::WasmInstance;
use crate::runtime::prepare::Prepared;
use crate::runtime::wasi::{self, Output};

/// Everything a new instance of one actor is made from.
pub(crate) struct Recipe {
    /// Kept for its epoch ticker, which bounds the module's `start`
    /// section even when the actor that asked for a standby is gone.
    pub(crate) runtime: Runtime,
    pub(crate) prepared: Arc<Prepared>,
    pub(crate) id: Arc<str>,
    pub(crate) limits: ResourceLimits,
    /// The WASI grant and the stdin every start is fed, for WASI actors.
    pub(crate) wasi: Option<(WasiConfig, bytes::Bytes)>,
}

/// An instance made and not yet started, with where its WASI output goes.
pub(crate) struct Made {
    pub(crate) instance: WasmInstance,
    pub(crate) output: Option<Arc<Output>>,
}

impl Recipe {
    /// A new instance: a store under the limits, the WASI context when
    /// granted (its output going to `output`), the module instantiated
    /// (its `start` section run). `_initialize` and `_start` are not
    /// called. `output` is made by the caller so that it can keep what a
    /// failed instantiation wrote.
    pub(crate) async fn instantiate(
        &self,
        output: Option<Arc<Output>>,
    ) -> Result<WasmInstance, ComponentError> {
        let wasi = match (&self.wasi, output) {
            (Some((config, stdin)), Some(output)) => Some((
                Box::new(wasi::context(&self.id, config, stdin, &output)?),
                output,
            )),
            _ => None,
        };
        WasmInstance::instantiate(
            self.runtime.wake(),
            &self.prepared,
            self.id.clone(),
            &self.limits,
            wasi,
        )
        .await
    }

    /// A WASI output for a new instance, `None` for an actor without WASI.
    pub(crate) fn output(&self) -> Option<Arc<Output>> {
        self.wasi.as_ref().map(|_| Output::new())
    }
}

/// An instance being made, or made, in a task of its own, for the next
/// start of its actor. Dropping it aborts the task; an instance already
/// made is dropped with it (no guest code of it has run but the module's
/// `start` section).
pub(crate) struct Standby(tokio::task::JoinHandle<Result<Made, ComponentError>>);

impl Standby {
    /// Starts making an instance from `recipe` on the current tokio
    /// runtime; `None` outside one (the next start then makes its own).
    pub(crate) fn spawn(recipe: Arc<Recipe>) -> Option<Self> {
        let tokio = tokio::runtime::Handle::try_current().ok()?;
        Some(Self(tokio.spawn(async move {
            // Background work: let the task that was waiting for the start
            // (woken by its answer, after this was spawned) run first.
            tokio::task::yield_now().await;
            let output = recipe.output();
            let instance = recipe.instantiate(output.clone()).await?;
            Ok(Made { instance, output })
        })))
    }

    /// The instance, waiting for it if it is still being made; `None` if
    /// making it failed (or its runtime shut down): the caller makes one
    /// itself, which fails the same way if the failure was the module's,
    /// and reports it.
    pub(crate) async fn take(mut self) -> Option<Made> {
        match (&mut self.0).await {
            Ok(Ok(made)) => Some(made),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "the standby instance could not be made");
                None
            }
            Err(_) => None,
        }
    }

    /// Whether the task has ended (the instance is made, or failed).
    #[cfg(test)]
    pub(crate) fn is_finished(&self) -> bool {
        self.0.is_finished()
    }
}

impl Drop for Standby {
    fn drop(&mut self) {
        self.0.abort();
    }
}

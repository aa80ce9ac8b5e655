//! Run WebAssembly modules as supervised actors on Wasmtime, with a
//! lifecycle that is enforced rather than hoped for.
//!
//! A [`ComponentActor`] loads a module from a [`ComponentSource`], checks its
//! imports against a [`ComponentManifest`] before anything runs, instantiates
//! it under memory, table, fuel and wall-clock [`ResourceLimits`], and drives
//! it through [`ActorState`]: Creating → Starting → Ready → Stopping →
//! Terminated, or Failed. Every guest call (the module's `start` section,
//! `_start`, `_health`, `_cleanup`) is bounded by a deadline that holds even
//! for `(loop (br 0))`, and one actor's deadline never interrupts another's.
//!
//! Many actors share one [`Runtime`]: one engine, one epoch ticker thread,
//! one cache of compiled modules.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod actor;
pub mod check;
mod error;
mod import_path;
mod manifest;
mod runtime;
#[cfg(feature = "serde")]
mod ser;
pub mod suite;
mod supervisor;
mod sync;
#[cfg(test)]
mod test_support;

pub use actor::child::{Child, ChildHealth};
pub use actor::component_actor::{ActorHandle, CleanupOutcome, ComponentActor};
pub use actor::mailbox::{Address, Delivery, SendError};
pub use actor::state::{ActorState, is_legal_step};
pub use error::{ComponentError, ErrorKind, UnknownErrorKind};
pub use import_path::{import_label, import_toml_entry};
pub use manifest::{
    ComponentManifest, MAX_CALL_DURATION, MAX_MAILBOX_CAPACITY, MAX_MEMORY_BYTES,
    MAX_MESSAGE_BYTES, MAX_MODULE_BYTES, MAX_OUTPUT_BYTES, MAX_TABLE_ELEMENTS, MailboxConfig,
    ManifestBuilder, PermissionManifest, Preopen, ResourceLimits, WASI_MODULE, WasiConfig,
};
pub use runtime::engine::{Allocation, MAX_EPOCH_TICK, MIN_EPOCH_TICK, Runtime, RuntimeConfig};
pub use runtime::host::{HOST_FUNCTIONS, MAX_LOG_BYTES};
pub use runtime::instance::InstanceStats;
pub use runtime::loader::{ComponentSource, WASM_MAGIC};
pub use runtime::wasi::WasiOutput;
pub use supervisor::spec::{
    ChildKind, ChildSpec, HealthPolicy, Intensity, Restart, Shutdown, Strategy, SupervisorSpec,
};
pub use supervisor::tree::{ChildReport, EventKind, Supervisor, SupervisorEvent, SupervisorStatus};
/// A WebAssembly value, for [`ComponentActor::call`] (wasmtime's own).
pub use wasmtime::Val;

/// The README's examples, run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

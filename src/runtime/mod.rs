//! Everything that touches wasmtime, one decision per file, arrows one way
//! (no module here imports one above it in this list):
//!
//! - `engine`: the shared engine, its configuration, the ticker, the cache.
//! - `prepare`: bytes -> imports checked -> compiled (cached) -> pre-linked.
//! - `instance`: one instance and the one guarded call of its exports.
//! - `host`: the registry of host functions, read by linking and checks.
//! - `store`: what one store holds: limiter, deadline, fuel, WASI context.
//! - `wasi`: the WASI context a manifest grants, the captured output.
//! - `ticker`: the epoch ticker thread and its park/wake handshake.
//! - `classify`: the one mapping from a wasmtime error to an `ErrorKind`.
//! - `limits`: the store's resource limiter.
//! - `loader`: where the bytes come from (no wasmtime at all).

pub(crate) mod classify;
pub(crate) mod engine;
pub(crate) mod host;
pub(crate) mod instance;
pub(crate) mod limits;
pub(crate) mod loader;
pub(crate) mod prepare;
pub(crate) mod store;
pub(crate) mod ticker;
pub(crate) mod wasi;

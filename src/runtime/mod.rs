//! Everything that touches wasmtime: the shared engine, loading, limits,
//! host functions and live instances.

pub(crate) mod engine;
pub(crate) mod host;
pub(crate) mod instance;
pub(crate) mod limits;
pub(crate) mod loader;
pub(crate) mod prepare;
pub(crate) mod ticker;

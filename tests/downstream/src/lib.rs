//! Nothing to export: this crate exists for its tests (`tests/`), which
//! build component-actor beside wasmtime with its default features.

//! component-actor's engine in a build with wasmtime's default features on.

#[path = "../engine_properties.rs"]
mod engine_properties;

/// The premise of this crate: wasmtime's `threads` and `component-model`
/// features are compiled in (these methods exist only with them), and a
/// plain wasmtime engine of this build accepts a shared memory, so the
/// refusals in `engine_properties` are component-actor's own choice.
#[test]
fn this_build_has_wasmtime_default_features_on() {
    let mut config = wasmtime::Config::new();
    config.wasm_threads(true).wasm_component_model(true);
    let engine = wasmtime::Engine::new(&config).expect("engine");
    wasmtime::Module::new(&engine, "(module (memory 1 1 shared))")
        .expect("plain wasmtime with `threads` accepts a shared memory");
}

//! Host functions a guest may import, linked only when its manifest permits
//! them. A module importing anything else is refused before instantiation.

use wasmtime::{Caller, Engine, Extern, Linker};

use crate::manifest::PermissionManifest;
use crate::runtime::instance::StoreData;

/// Every host function this crate provides, as `(module, name)`.
pub const HOST_FUNCTIONS: &[(&str, &str)] = &[("host", "log")];

/// The longest message `host::log` emits; longer ones are cut (and say so).
pub const MAX_LOG_BYTES: usize = 4096;

/// A linker holding exactly the host functions `permissions` allows.
pub(crate) fn linker(
    engine: &Engine,
    permissions: &PermissionManifest,
) -> wasmtime::Result<Linker<StoreData>> {
    let mut linker = Linker::new(engine);
    if permissions.allows("host", "log") {
        linker.func_wrap("host", "log", log)?;
    }
    Ok(linker)
}

/// `host::log(ptr: i32, len: i32)`: emits `len` bytes of UTF-8 at `ptr` in
/// the guest's exported `memory` as a `tracing` info event.
fn log(mut caller: Caller<'_, StoreData>, ptr: i32, len: i32) -> wasmtime::Result<()> {
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
        return Err(wasmtime::Error::msg(
            "host::log needs the guest to export its linear memory as `memory`",
        ));
    };
    // Guest pointers are unsigned 32-bit offsets.
    let start = ptr as u32 as usize;
    let len = len as u32 as usize;
    let data = memory.data(&caller);
    let Some(bytes) = start.checked_add(len).and_then(|end| data.get(start..end)) else {
        return Err(wasmtime::Error::msg(format!(
            "host::log: bytes {start}..{} are outside the guest's {} bytes of memory",
            start.saturating_add(len),
            data.len()
        )));
    };
    let shown = &bytes[..len.min(MAX_LOG_BYTES)];
    let text = String::from_utf8_lossy(shown).into_owned();
    let component = caller.data_mut().note_log().clone();
    tracing::info!(
        target: "component_actor::guest",
        component = %component,
        truncated = len > MAX_LOG_BYTES,
        "{text}"
    );
    Ok(())
}

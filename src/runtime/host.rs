//! The registry of host functions a guest may import ([`REGISTRY`]): each
//! one entry of (module, name, signature, link function). Linking reads it
//! (a function is linked only when the manifest permits it), and so do the
//! import checks that run before compiling and [`preflight`]'s report (a
//! permitted import is provided only if an entry has its name and
//! signature). A module importing anything else is refused before
//! instantiation. A new host function is a new entry, nothing else.
//!
//! [`preflight`]: crate::check::preflight

use wasmtime::wasmparser::ValType;
use wasmtime::{Caller, Engine, Extern, Linker};

use crate::manifest::PermissionManifest;
use crate::runtime::store::StoreData;

/// One host function.
pub(crate) struct HostFunction {
    /// The module a guest imports it from.
    pub(crate) module: &'static str,
    /// The name it is imported by.
    pub(crate) name: &'static str,
    /// Its parameter types: what an import of it must declare.
    pub(crate) params: &'static [ValType],
    /// Its result types.
    pub(crate) results: &'static [ValType],
    /// Adds it to a linker under `module` and `name` (the entry's own).
    link: fn(&mut Linker<StoreData>, &str, &str) -> wasmtime::Result<()>,
}

/// Every host function this crate provides.
const ENTRIES: [HostFunction; 1] = [HostFunction {
    module: "host",
    name: "log",
    params: &[ValType::I32, ValType::I32],
    results: &[],
    link: |linker, module, name| linker.func_wrap(module, name, log).map(drop),
}];

/// Every host function this crate provides, in one list.
pub(crate) const REGISTRY: &[HostFunction] = &ENTRIES;

/// Every host function this crate provides, as `(module, name)`: the
/// names of the registry's entries, in its order.
pub const HOST_FUNCTIONS: &[(&str, &str)] = &names(&ENTRIES);

const fn names<const N: usize>(entries: &[HostFunction; N]) -> [(&'static str, &'static str); N] {
    let mut out = [("", ""); N];
    let mut i = 0;
    while i < N {
        out[i] = (entries[i].module, entries[i].name);
        i += 1;
    }
    out
}

/// The host function `module::name`, if there is one.
pub(crate) fn find(module: &str, name: &str) -> Option<&'static HostFunction> {
    REGISTRY
        .iter()
        .find(|f| f.module == module && f.name == name)
}

/// The longest message `host::log` emits; longer ones are cut (and say so).
pub const MAX_LOG_BYTES: usize = 4096;

/// A linker holding exactly the registry's host functions that
/// `permissions` allows, and WASI preview1 (wasmtime-wasi's, reaching the
/// store's context) when they grant it.
pub(crate) fn linker(
    engine: &Engine,
    permissions: &PermissionManifest,
) -> wasmtime::Result<Linker<StoreData>> {
    let mut linker = Linker::new(engine);
    for f in REGISTRY {
        if permissions.allows(f.module, f.name) {
            (f.link)(&mut linker, f.module, f.name)?;
        }
    }
    if permissions.wasi() {
        wasmtime_wasi::p1::add_to_linker_async(&mut linker, StoreData::wasi)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ComponentManifest, ResourceLimits};

    /// Each entry's declared signature is the type of the function its link
    /// function adds, under the entry's own name.
    #[test]
    fn every_entry_links_its_declared_signature_under_its_name() {
        let engine = Engine::default();
        let list = |tys: &mut dyn Iterator<Item = String>| tys.collect::<Vec<_>>().join(" ");
        for f in REGISTRY {
            let manifest = ComponentManifest::builder("host")
                .allow_import(f.module, f.name)
                .build()
                .unwrap();
            let linker = linker(&engine, manifest.permissions()).unwrap();
            let mut store = crate::runtime::store::new(
                &engine,
                "host".into(),
                &ResourceLimits::default(),
                None,
            );
            let Ok(Extern::Func(func)) = linker.get(&mut store, f.module, f.name) else {
                panic!("{}::{} is not linked", f.module, f.name);
            };
            let ty = func.ty(&store);
            assert_eq!(
                list(&mut ty.params().map(|t| t.to_string())),
                list(&mut f.params.iter().map(|t| t.to_string())),
                "{}::{}",
                f.module,
                f.name
            );
            assert_eq!(
                list(&mut ty.results().map(|t| t.to_string())),
                list(&mut f.results.iter().map(|t| t.to_string())),
                "{}::{}",
                f.module,
                f.name
            );
        }
    }

    #[test]
    fn only_permitted_entries_are_linked_and_the_names_are_the_registry() {
        let engine = Engine::default();
        let manifest = ComponentManifest::new("none").unwrap();
        let linker = linker(&engine, manifest.permissions()).unwrap();
        let mut store =
            crate::runtime::store::new(&engine, "none".into(), &ResourceLimits::default(), None);
        assert_eq!(linker.iter(&mut store).count(), 0);
        let names: Vec<(&str, &str)> = REGISTRY.iter().map(|f| (f.module, f.name)).collect();
        assert_eq!(names, HOST_FUNCTIONS);
        assert!(find("host", "log").is_some());
        assert!(find("host", "nope").is_none());
    }
}

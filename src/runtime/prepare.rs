//! Module preparation: bytes -> compiled module (cached) -> checked
//! against a manifest -> pre-linked. Everything here runs before any guest
//! code does.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use wasmtime::{Engine, ExternType, InstancePre, Module, ModuleExport, ValType};

use crate::error::{ComponentError, ErrorKind};
use crate::manifest::{ComponentManifest, PermissionManifest};
use crate::runtime::engine::{Allocation, Runtime};
use crate::runtime::host;
use crate::runtime::instance::{StoreData, one_line};

/// The lifecycle exports' required types.
const START: (&str, &[ValType]) = ("_start", &[]);
const CLEANUP: (&str, &[ValType]) = ("_cleanup", &[]);
const HEALTH: (&str, &[ValType]) = ("_health", &[ValType::I32]);

/// A module checked against one manifest and pre-linked: all that is left
/// for a start is a `Store` and an instantiation.
pub(crate) struct Prepared {
    pub(crate) pre: InstancePre<StoreData>,
    pub(crate) start: Option<ModuleExport>,
    pub(crate) cleanup: Option<ModuleExport>,
    pub(crate) health: Option<ModuleExport>,
    /// The pool's slot count when the runtime pools instances, for the
    /// message of a start that finds every slot taken.
    pub(crate) pool_slots: Option<u32>,
}

impl Prepared {
    /// Checks every import against the manifest's permissions and every
    /// lifecycle export's type, then links the permitted host functions.
    pub(crate) fn new(
        engine: &Engine,
        module: &Module,
        manifest: &ComponentManifest,
    ) -> Result<Self, ComponentError> {
        let name = manifest.name();
        let denied = denied_imports(module, manifest.permissions());
        if !denied.is_empty() {
            return Err(ComponentError::permission_denied(name, denied));
        }
        for (export, results) in LIFECYCLE_EXPORTS {
            check_export(module, name, export, results)?;
        }
        let pre = host::linker(engine, manifest.permissions())
            .and_then(|linker| linker.instantiate_pre(module))
            .map_err(|e| {
                ComponentError::new(name, ErrorKind::Instantiation, one_line(&e)).with_source(e)
            })?;
        Ok(Self {
            pre,
            start: module.get_export_index(START.0),
            cleanup: module.get_export_index(CLEANUP.0),
            health: module.get_export_index(HEALTH.0),
            pool_slots: None,
        })
    }
}

/// The lifecycle exports and their required result types, in the order
/// they are checked (shared with [`crate::check`]).
pub(crate) const LIFECYCLE_EXPORTS: [(&str, &[ValType]); 3] = [START, CLEANUP, HEALTH];

/// Every import of `module` that `permissions` does not allow, as
/// `module::name`, in import order.
pub(crate) fn denied_imports(module: &Module, permissions: &PermissionManifest) -> Vec<String> {
    module
        .imports()
        .filter(|i| !permissions.allows(i.module(), i.name()))
        .map(|i| format!("{}::{}", i.module(), i.name()))
        .collect()
}

/// The type a lifecycle export must have, as messages write it (`[] -> [i32]`).
pub(crate) fn expected_signature(results: &[ValType]) -> String {
    format!("[] -> [{}]", types(results.iter().cloned()))
}

/// An extern's type as messages write it: `[i32] -> []` for a function,
/// `a global`, `a table`, `a memory` or `a tag` otherwise.
pub(crate) fn describe(ty: &ExternType) -> String {
    match ty {
        ExternType::Func(f) => format!("[{}] -> [{}]", types(f.params()), types(f.results())),
        ExternType::Global(_) => "a global".to_string(),
        ExternType::Table(_) => "a table".to_string(),
        ExternType::Memory(_) => "a memory".to_string(),
        ExternType::Tag(_) => "a tag".to_string(),
    }
}

/// Checks the type of one lifecycle export; a missing export is fine.
pub(crate) fn check_export(
    module: &Module,
    component: &str,
    export: &str,
    results: &[ValType],
) -> Result<(), ComponentError> {
    let Some(ty) = module.get_export(export) else {
        return Ok(());
    };
    if let ExternType::Func(f) = &ty
        && f.params().len() == 0
        && f.results().len() == results.len()
        && f.results().zip(results).all(|(a, b)| ValType::eq(&a, b))
    {
        return Ok(());
    }
    Err(ComponentError::new(
        component,
        ErrorKind::ExportSignature,
        format!(
            "export `{export}` is {}, expected a function {}",
            describe(&ty),
            expected_signature(results)
        ),
    ))
}

fn types(tys: impl Iterator<Item = ValType>) -> String {
    tys.map(|t| t.to_string()).collect::<Vec<_>>().join(" ")
}

impl Runtime {
    /// Compiles `bytes` (once per distinct content), checks it against
    /// `manifest` and pre-links it (once per content and permission set).
    pub(crate) fn prepare(
        &self,
        bytes: &Arc<[u8]>,
        manifest: &ComponentManifest,
    ) -> Result<Arc<Prepared>, ComponentError> {
        let cached = self.lock_cache().lookup(bytes, manifest.permissions());
        let module = match cached {
            Lookup::Prepared(p) => return Ok(p),
            Lookup::Module(m) => m,
            Lookup::Miss => self.compile_uncached(bytes, manifest.name())?,
        };
        let mut prepared = Prepared::new(self.engine(), &module, manifest)?;
        if let Allocation::Pooling { slots, .. } = self.allocation() {
            prepared.pool_slots = Some(slots);
        }
        let prepared = Arc::new(prepared);
        self.lock_cache()
            .insert_prepared(bytes, manifest.permissions(), prepared.clone());
        Ok(prepared)
    }
}

impl Runtime {
    /// The compiled module for `bytes`: from the cache, or compiled (and
    /// cached) now. Nothing is checked against a manifest.
    pub(crate) fn compile(
        &self,
        bytes: &Arc<[u8]>,
        component: &str,
    ) -> Result<Module, ComponentError> {
        let cached = self
            .lock_cache()
            .modules
            .get(&bytes[..])
            .map(|e| e.module.clone());
        match cached {
            Some(module) => Ok(module),
            None => self.compile_uncached(bytes, component),
        }
    }

    fn compile_uncached(
        &self,
        bytes: &Arc<[u8]>,
        component: &str,
    ) -> Result<Module, ComponentError> {
        // Compile outside the lock: other actors keep starting.
        let module = Module::from_binary(self.engine(), bytes).map_err(|e| {
            ComponentError::new(
                component,
                ErrorKind::Compile,
                format!("invalid module: {}", one_line(&e)),
            )
            .with_source(e)
        })?;
        self.lock_cache().insert_module(bytes, module.clone());
        Ok(module)
    }
}

/// Compiled modules keyed by their exact bytes (never by a hash alone: two
/// different modules must never share an entry), each with its pre-linked
/// forms per permission set.
pub(crate) struct ModuleCache {
    capacity: usize,
    /// FxHash (`rustc-hash`): an actor's first start looks its module up by
    /// content, and SipHash over the bytes was the largest single cost of
    /// that lookup. Keys are compared in full on every hit, so a collision
    /// costs a comparison, never a wrong module, and the cache holds at most
    /// `module_cache_capacity` keys.
    pub(crate) modules: HashMap<Arc<[u8]>, CacheEntry, rustc_hash::FxBuildHasher>,
    order: VecDeque<Arc<[u8]>>,
}

pub(crate) struct CacheEntry {
    module: Module,
    prepared: Vec<(PermissionManifest, Arc<Prepared>)>,
}

enum Lookup {
    Prepared(Arc<Prepared>),
    Module(Module),
    Miss,
}

impl ModuleCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            modules: HashMap::default(),
            order: VecDeque::new(),
        }
    }

    fn lookup(&self, bytes: &[u8], permissions: &PermissionManifest) -> Lookup {
        match self.modules.get(bytes) {
            None => Lookup::Miss,
            Some(entry) => entry
                .prepared
                .iter()
                .find(|(p, _)| p == permissions)
                .map(|(_, prepared)| Lookup::Prepared(prepared.clone()))
                .unwrap_or_else(|| Lookup::Module(entry.module.clone())),
        }
    }

    fn insert_module(&mut self, bytes: &Arc<[u8]>, module: Module) {
        if self.modules.contains_key(&bytes[..]) {
            return;
        }
        while self.modules.len() >= self.capacity {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            self.modules.remove(&oldest);
        }
        self.order.push_back(bytes.clone());
        self.modules.insert(
            bytes.clone(),
            CacheEntry {
                module,
                prepared: Vec::new(),
            },
        );
    }

    fn insert_prepared(
        &mut self,
        bytes: &[u8],
        permissions: &PermissionManifest,
        prepared: Arc<Prepared>,
    ) {
        /// Permission sets kept per module; a module run under many
        /// manifests re-links beyond this.
        const PER_MODULE: usize = 8;
        if let Some(entry) = self.modules.get_mut(bytes)
            && entry.prepared.len() < PER_MODULE
            && !entry.prepared.iter().any(|(p, _)| p == permissions)
        {
            entry.prepared.push((permissions.clone(), prepared));
        }
    }
}

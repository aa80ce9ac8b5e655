//! Module preparation: bytes -> size checked -> header and imports read
//! with wasmparser and checked against the manifest and the host-function
//! registry (before compiling) -> compiled module (cached) -> exports
//! checked -> pre-linked. Everything here runs before any guest code does;
//! the findings are exposed (`Inspection`, `problems`) for whoever reports
//! on a module without starting it.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use wasmtime::wasmparser;
use wasmtime::{Engine, ExternType, InstancePre, Module, ModuleExport, ValType};

use crate::error::{ComponentError, ErrorKind};
use crate::import_path::import_label;
use crate::manifest::{ComponentManifest, PermissionManifest, WASI_MODULE};
use crate::runtime::classify;
use crate::runtime::host;
use crate::runtime::store::StoreData;
use crate::runtime::wasi;

/// An export the actor calls, and the type it must have.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExportRule {
    pub(crate) name: &'static str,
    pub(crate) params: &'static [ValType],
    pub(crate) results: &'static [ValType],
}

const fn rule(
    name: &'static str,
    params: &'static [ValType],
    results: &'static [ValType],
) -> ExportRule {
    ExportRule {
        name,
        params,
        results,
    }
}

const INITIALIZE: ExportRule = rule("_initialize", &[], &[]);
const START: ExportRule = rule("_start", &[], &[]);
const CLEANUP: ExportRule = rule("_cleanup", &[], &[]);
const HEALTH: ExportRule = rule("_health", &[], &[ValType::I32]);
/// The message ABI: `alloc-message(len) -> ptr` gives room for a message
/// of `len` bytes, `handle-message(ptr, len) -> (reply_ptr << 32 | reply_len)`
/// handles it. Both need the memory exported as [`MESSAGE_MEMORY`].
pub(crate) const ALLOC_MESSAGE: ExportRule =
    rule("alloc-message", &[ValType::I32], &[ValType::I32]);
pub(crate) const HANDLE_MESSAGE: ExportRule = rule(
    "handle-message",
    &[ValType::I32, ValType::I32],
    &[ValType::I64],
);
/// The memory messages and replies are written to and read from.
pub(crate) const MESSAGE_MEMORY: &str = "memory";

/// A module checked against one manifest and pre-linked: all that is left
/// for a start is a `Store` and an instantiation.
pub(crate) struct Prepared {
    pub(crate) pre: InstancePre<StoreData>,
    /// Whether WASI preview1 is linked: every store for it needs a context.
    pub(crate) wasi: bool,
    /// A reactor's `_initialize`, run before `_start`.
    pub(crate) initialize: Option<ModuleExport>,
    pub(crate) start: Option<ModuleExport>,
    pub(crate) cleanup: Option<ModuleExport>,
    pub(crate) health: Option<ModuleExport>,
    pub(crate) alloc_message: Option<ModuleExport>,
    pub(crate) handle_message: Option<ModuleExport>,
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
        for rule in ACTOR_EXPORTS {
            check_export(module, name, &rule)?;
        }
        let exported = |n: &str| module.get_export(n);
        if let Some(e) = message_exports_missing(
            exported(HANDLE_MESSAGE.name).is_some(),
            exported(ALLOC_MESSAGE.name).is_some(),
            matches!(exported(MESSAGE_MEMORY), Some(ExternType::Memory(_))),
        ) {
            return Err(ComponentError::new(name, ErrorKind::ExportSignature, e));
        }
        let pre = host::linker(engine, manifest.permissions())
            .and_then(|linker| linker.instantiate_pre(module))
            .map_err(|e| classify::link_failed(name, e))?;
        Ok(Self {
            pre,
            wasi: manifest.permissions().wasi(),
            initialize: module.get_export_index(INITIALIZE.name),
            start: module.get_export_index(START.name),
            cleanup: module.get_export_index(CLEANUP.name),
            health: module.get_export_index(HEALTH.name),
            alloc_message: module.get_export_index(ALLOC_MESSAGE.name),
            handle_message: module.get_export_index(HANDLE_MESSAGE.name),
            pool_slots: None,
        })
    }
}

/// The exports the actor calls and their required types, in the order
/// they are checked.
pub(crate) const ACTOR_EXPORTS: [ExportRule; 6] = [
    INITIALIZE,
    START,
    CLEANUP,
    HEALTH,
    ALLOC_MESSAGE,
    HANDLE_MESSAGE,
];

/// What a module exporting `handle-message` lacks of the message ABI
/// (`alloc-message`, a memory named `memory`), as a message; `None` when
/// it has all of it or does not take messages.
pub(crate) fn message_exports_missing(handle: bool, alloc: bool, memory: bool) -> Option<String> {
    let missing: Vec<&str> = [
        (!alloc).then_some("a function `alloc-message` [i32] -> [i32]"),
        (!memory).then_some("a memory exported as `memory`"),
    ]
    .into_iter()
    .flatten()
    .collect();
    (handle && !missing.is_empty()).then(|| {
        format!(
            "export `handle-message` needs {} exported too",
            missing.join(" and ")
        )
    })
}

/// Every import of `module` that `permissions` does not allow, as exact
/// `(module, name)` pairs, in import order.
pub(crate) fn denied_imports(
    module: &Module,
    permissions: &PermissionManifest,
) -> Vec<(String, String)> {
    module
        .imports()
        .filter(|i| !permissions.allows(i.module(), i.name()))
        .map(|i| (i.module().to_string(), i.name().to_string()))
        .collect()
}

/// The type an actor export must have, as messages write it (`[] -> [i32]`).
pub(crate) fn expected_signature(rule: &ExportRule) -> String {
    format!(
        "[{}] -> [{}]",
        types(rule.params.iter().cloned()),
        types(rule.results.iter().cloned())
    )
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

/// Checks the type of one actor export; a missing export is fine.
pub(crate) fn check_export(
    module: &Module,
    component: &str,
    rule: &ExportRule,
) -> Result<(), ComponentError> {
    let Some(ty) = module.get_export(rule.name) else {
        return Ok(());
    };
    let same = |got: &mut dyn ExactSizeIterator<Item = ValType>, want: &[ValType]| {
        got.len() == want.len() && got.zip(want).all(|(a, b)| ValType::eq(&a, b))
    };
    if let ExternType::Func(f) = &ty
        && same(&mut f.params(), rule.params)
        && same(&mut f.results(), rule.results)
    {
        return Ok(());
    }
    Err(ComponentError::new(
        component,
        ErrorKind::ExportSignature,
        format!(
            "export `{}` is {}, expected a function {}",
            rule.name,
            describe(&ty),
            expected_signature(rule)
        ),
    ))
}

fn types(tys: impl Iterator<Item = ValType>) -> String {
    tys.map(|t| t.to_string()).collect::<Vec<_>>().join(" ")
}

/// The one line a WebAssembly component is refused with.
pub(crate) const COMPONENT_REFUSED: &str =
    "this is a WebAssembly component; component-actor runs core modules";

/// [`ErrorKind::ModuleTooLarge`] past the manifest's `max_module_bytes`.
pub(crate) fn check_size(bytes: &[u8], manifest: &ComponentManifest) -> Result<(), ComponentError> {
    let cap = manifest.limits().max_module_bytes;
    if bytes.len() as u64 > cap {
        return Err(ComponentError::new(
            manifest.name(),
            ErrorKind::ModuleTooLarge,
            format!(
                "the module is {} bytes, over max_module_bytes = {cap}; it was not compiled",
                bytes.len()
            ),
        ));
    }
    Ok(())
}

/// A component is refused from its header ([`ErrorKind::Compile`], one
/// line), before wasmtime's validator suggests enabling a feature.
pub(crate) fn check_header(bytes: &[u8], component: &str) -> Result<(), ComponentError> {
    if wasmparser::Parser::is_component(bytes) {
        return Err(ComponentError::new(
            component,
            ErrorKind::Compile,
            COMPONENT_REFUSED,
        ));
    }
    Ok(())
}

/// Everything `start` refuses before compiling: the header, then the
/// first import problem. Sections that do not parse are left to the
/// compiler to report.
fn screen(bytes: &[u8], manifest: &ComponentManifest) -> Result<(), ComponentError> {
    check_header(bytes, manifest.name())?;
    if let Some(inspection) = Inspection::of(bytes)
        && let Some(p) = problems(&inspection, manifest)
            .into_iter()
            .find(|p| p.stage == Stage::BeforeCompile)
    {
        return Err(p.error);
    }
    Ok(())
}

// ------------------------------------------------- reading a module without compiling it

/// A function type, as parameter and result lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Signature {
    params: Vec<wasmparser::ValType>,
    results: Vec<wasmparser::ValType>,
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |tys: &[wasmparser::ValType]| {
            tys.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        };
        write!(f, "[{}] -> [{}]", list(&self.params), list(&self.results))
    }
}

/// What an import or export is, read from the module's sections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Item {
    /// A function; `None` when its type index names no function type.
    Func(Option<Signature>),
    /// A memory.
    Memory,
    /// A table.
    Table,
    /// A global.
    Global,
    /// A tag.
    Tag,
}

impl Item {
    /// As the check report writes it: `func [i32 i32] -> []`, `memory`, ...
    pub(crate) fn describe(&self) -> String {
        match self {
            Item::Func(Some(sig)) => format!("func {sig}"),
            Item::Func(None) => "func".to_string(),
            Item::Memory => "memory".to_string(),
            Item::Table => "table".to_string(),
            Item::Global => "global".to_string(),
            Item::Tag => "tag".to_string(),
        }
    }
}

/// One import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImportDecl {
    pub(crate) module: String,
    pub(crate) name: String,
    pub(crate) item: Item,
}

/// A module's declarations, read with wasmparser from the sections before
/// its code: a few microseconds, and no compiling.
#[derive(Debug, Clone, Default)]
pub(crate) struct Inspection {
    /// Every import, in order.
    pub(crate) imports: Vec<ImportDecl>,
    /// The lifecycle exports present, by name.
    pub(crate) exports: Vec<(String, Item)>,
    /// The initial size in bytes of each memory the module defines.
    pub(crate) memories: Vec<u64>,
    /// The initial size in elements of each table the module defines.
    pub(crate) tables: Vec<u64>,
}

impl Inspection {
    /// Reads the sections before the code section; `None` when they do not
    /// parse (compiling then says what is wrong).
    pub(crate) fn of(bytes: &[u8]) -> Option<Self> {
        use wasmparser::{CompositeInnerType, ExternalKind, Parser, Payload, TypeRef};
        let mut types: Vec<Option<Signature>> = Vec::new();
        // The type index of every function, imported ones first.
        let mut funcs: Vec<u32> = Vec::new();
        let mut exports = Vec::new();
        let mut this = Self::default();
        let sig = |types: &[Option<Signature>], i: u32| types.get(i as usize).cloned().flatten();
        for payload in Parser::new(0).parse_all(bytes) {
            match payload.ok()? {
                Payload::TypeSection(s) => {
                    for group in s {
                        for sub in group.ok()?.into_types() {
                            types.push(match &sub.composite_type.inner {
                                CompositeInnerType::Func(f) => Some(Signature {
                                    params: f.params().to_vec(),
                                    results: f.results().to_vec(),
                                }),
                                _ => None,
                            });
                        }
                    }
                }
                Payload::ImportSection(s) => {
                    for import in s.into_imports() {
                        let i = import.ok()?;
                        let item = match i.ty {
                            TypeRef::Func(t) | TypeRef::FuncExact(t) => {
                                funcs.push(t);
                                Item::Func(sig(&types, t))
                            }
                            TypeRef::Memory(_) => Item::Memory,
                            TypeRef::Table(_) => Item::Table,
                            TypeRef::Global(_) => Item::Global,
                            TypeRef::Tag(_) => Item::Tag,
                        };
                        this.imports.push(ImportDecl {
                            module: i.module.to_string(),
                            name: i.name.to_string(),
                            item,
                        });
                    }
                }
                Payload::FunctionSection(s) => {
                    for t in s {
                        funcs.push(t.ok()?);
                    }
                }
                Payload::MemorySection(s) => {
                    for m in s {
                        let m = m.ok()?;
                        let page = 1u64.checked_shl(m.page_size_log2()).unwrap_or(u64::MAX);
                        this.memories.push(m.initial.saturating_mul(page));
                    }
                }
                Payload::TableSection(s) => {
                    for t in s {
                        this.tables.push(t.ok()?.ty.initial);
                    }
                }
                Payload::ExportSection(s) => {
                    for e in s {
                        let e = e.ok()?;
                        if e.name == MESSAGE_MEMORY
                            || ACTOR_EXPORTS.iter().any(|r| r.name == e.name)
                        {
                            exports.push((e.name.to_string(), e.kind, e.index));
                        }
                    }
                }
                // Everything read here comes before the code.
                Payload::CodeSectionStart { .. } | Payload::DataSection(_) | Payload::End(_) => {
                    break;
                }
                _ => {}
            }
        }
        this.exports = exports
            .into_iter()
            .map(|(name, kind, index)| {
                let item = match kind {
                    ExternalKind::Func | ExternalKind::FuncExact => {
                        Item::Func(funcs.get(index as usize).and_then(|&t| sig(&types, t)))
                    }
                    ExternalKind::Table => Item::Table,
                    ExternalKind::Memory => Item::Memory,
                    ExternalKind::Global => Item::Global,
                    ExternalKind::Tag => Item::Tag,
                };
                (name, item)
            })
            .collect();
        Some(this)
    }

    /// The lifecycle export `name`, if exported.
    pub(crate) fn export(&self, name: &str) -> Option<&Item> {
        self.exports.iter().find(|(n, _)| n == name).map(|(_, i)| i)
    }
}

/// The signature of the host function `(module, name)`: the registry's,
/// or WASI preview1's from [`WASI_MODULE`]; `None` when no host function
/// has that name.
pub(crate) fn host_signature(module: &str, name: &str) -> Option<Signature> {
    if module == WASI_MODULE {
        return wasi::signature(name).map(|(params, results)| Signature {
            params: params.clone(),
            results: results.clone(),
        });
    }
    host::find(module, name).map(|f| Signature {
        params: f.params.to_vec(),
        results: f.results.to_vec(),
    })
}

/// The required type of an actor export, in wasmparser's terms.
fn required(rule: &ExportRule) -> Signature {
    let convert = |tys: &[ValType]| {
        tys.iter()
            .map(|r| match r {
                ValType::I32 => wasmparser::ValType::I32,
                ValType::I64 => wasmparser::ValType::I64,
                ValType::F32 => wasmparser::ValType::F32,
                ValType::F64 => wasmparser::ValType::F64,
                // The actor's exports take and return numbers only.
                _ => wasmparser::ValType::V128,
            })
            .collect()
    };
    Signature {
        params: convert(rule.params),
        results: convert(rule.results),
    }
}

/// When `start` meets a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Stage {
    /// Refused from the imports, before compiling.
    BeforeCompile,
    /// Refused after compiling, before linking (lifecycle export types).
    AfterCompile,
    /// Hit when instantiating (initial memory or tables over the limits).
    Instantiation,
}

/// One reason a module will not start.
#[derive(Debug)]
pub(crate) struct Problem {
    pub(crate) stage: Stage,
    pub(crate) error: ComponentError,
}

/// Every problem `inspection` shows against `manifest`, in the order
/// `start` meets them: denied imports (all in one error), permitted imports
/// no host provides, by name or by type (all in one), each mistyped
/// lifecycle export, then initial memory and tables over the limits.
pub(crate) fn problems(inspection: &Inspection, manifest: &ComponentManifest) -> Vec<Problem> {
    let name = manifest.name();
    let permissions = manifest.permissions();
    let mut out = Vec::new();
    let mut push = |stage, error| out.push(Problem { stage, error });
    let (denied, permitted): (Vec<&ImportDecl>, Vec<&ImportDecl>) = inspection
        .imports
        .iter()
        .partition(|i| !permissions.allows(&i.module, &i.name));
    if !denied.is_empty() {
        let pairs = denied
            .iter()
            .map(|i| (i.module.clone(), i.name.clone()))
            .collect();
        push(
            Stage::BeforeCompile,
            ComponentError::permission_denied(name, pairs),
        );
    }
    let mut unsupported = Vec::new();
    for i in &permitted {
        let label = import_label(&i.module, &i.name);
        match (&i.item, host_signature(&i.module, &i.name)) {
            (Item::Func(sig), Some(host)) if sig.as_ref() != Some(&host) => {
                unsupported.push(format!(
                    "{label} (imported as {}, but the host function is {host})",
                    i.item.describe()
                ))
            }
            (Item::Func(_), Some(_)) => {}
            (Item::Func(_), None) => {
                unsupported.push(format!("{label} (no host function has that name)"))
            }
            (other, _) => unsupported.push(format!(
                "{label} (a {}: the host provides none)",
                other.describe()
            )),
        }
    }
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    if !unsupported.is_empty() {
        push(
            Stage::BeforeCompile,
            ComponentError::new(
                name,
                ErrorKind::UnsupportedImport,
                format!(
                    "{} permitted import{} nothing provides: {}",
                    unsupported.len(),
                    plural(unsupported.len()),
                    unsupported.join(", ")
                ),
            ),
        );
    }
    for rule in &ACTOR_EXPORTS {
        let want = required(rule);
        match inspection.export(rule.name) {
            None => {}
            Some(Item::Func(Some(sig))) if *sig == want => {}
            Some(item) => push(
                Stage::AfterCompile,
                ComponentError::new(
                    name,
                    ErrorKind::ExportSignature,
                    format!(
                        "export `{}` is {}, expected a function {}",
                        rule.name,
                        match item {
                            Item::Func(Some(sig)) => sig.to_string(),
                            other => format!("a {}", other.describe()),
                        },
                        expected_signature(rule)
                    ),
                ),
            ),
        }
    }
    if let Some(message) = message_exports_missing(
        inspection.export(HANDLE_MESSAGE.name).is_some(),
        inspection.export(ALLOC_MESSAGE.name).is_some(),
        matches!(inspection.export(MESSAGE_MEMORY), Some(Item::Memory)),
    ) {
        push(
            Stage::AfterCompile,
            ComponentError::new(name, ErrorKind::ExportSignature, message),
        );
    }
    let limits = manifest.limits();
    let memory: u64 = inspection
        .memories
        .iter()
        .fold(0, |a, m| a.saturating_add(*m));
    if memory > limits.max_memory_bytes {
        let what = match inspection.memories.len() {
            1 => "a memory's initial size is",
            _ => "the memories' initial sizes add up to",
        };
        push(
            Stage::Instantiation,
            ComponentError::new(
                name,
                ErrorKind::MemoryLimit,
                format!(
                    "{what} {memory} bytes, over max_memory_bytes = {}",
                    limits.max_memory_bytes
                ),
            ),
        );
    }
    let table: u64 = inspection
        .tables
        .iter()
        .fold(0, |a, t| a.saturating_add(*t));
    if table > limits.max_table_elements {
        let what = match inspection.tables.len() {
            1 => "a table's initial size is",
            _ => "the tables' initial sizes add up to",
        };
        push(
            Stage::Instantiation,
            ComponentError::new(
                name,
                ErrorKind::TableLimit,
                format!(
                    "{what} {table} elements, over max_table_elements = {}",
                    limits.max_table_elements
                ),
            ),
        );
    }
    out
}

/// The cache of compiled, pre-linked modules one engine's actors share,
/// and the preparation that fills it ([`prepare`](Self::prepare)).
pub(crate) struct ModuleCache {
    inner: Mutex<Modules>,
}

impl ModuleCache {
    /// An empty cache of at most `capacity` distinct modules.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Modules::new(capacity)),
        }
    }

    /// How many distinct modules are compiled and cached.
    pub(crate) fn len(&self) -> usize {
        self.lock().modules.len()
    }

    fn lock(&self) -> MutexGuard<'_, Modules> {
        // The cache holds no invariant a panic could break halfway.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Checks `bytes` against `manifest` and pre-links them for `engine`
    /// (whose pool, if it pools instances, has `pool_slots` slots), in the
    /// order a report of every problem lists them: the size cap, the
    /// header (a component is refused), then the imports read with
    /// wasmparser (denied, unsupported, mistyped: all refused *before*
    /// compiling), then compiling (once per distinct content, cached), the
    /// lifecycle exports' types and linking (once per content and
    /// permission set).
    pub(crate) fn prepare(
        &self,
        engine: &Engine,
        pool_slots: Option<u32>,
        bytes: &Arc<[u8]>,
        manifest: &ComponentManifest,
    ) -> Result<Arc<Prepared>, ComponentError> {
        check_size(bytes, manifest)?;
        let cached = self.lock().lookup(bytes, manifest.permissions());
        let module = match cached {
            Lookup::Prepared(p) => return Ok(p),
            Lookup::Module(m) => {
                screen(bytes, manifest)?;
                m
            }
            Lookup::Miss => {
                screen(bytes, manifest)?;
                self.compile_uncached(engine, bytes, manifest.name())?
            }
        };
        let mut prepared = Prepared::new(engine, &module, manifest)?;
        prepared.pool_slots = pool_slots;
        let prepared = Arc::new(prepared);
        self.lock()
            .insert_prepared(bytes, manifest.permissions(), prepared.clone());
        Ok(prepared)
    }

    fn compile_uncached(
        &self,
        engine: &Engine,
        bytes: &Arc<[u8]>,
        component: &str,
    ) -> Result<Module, ComponentError> {
        // Compile outside the lock: other actors keep starting.
        let module = Module::from_binary(engine, bytes)
            .map_err(|e| classify::compile_failed(component, e))?;
        self.lock().insert_module(bytes, module.clone());
        Ok(module)
    }
}

/// Compiled modules keyed by their exact bytes (never by a hash alone: two
/// different modules must never share an entry), each with its pre-linked
/// forms per permission set.
struct Modules {
    capacity: usize,
    /// FxHash (`rustc-hash`): an actor's first start looks its module up by
    /// content, and SipHash over the bytes was the largest single cost of
    /// that lookup. Keys are compared in full on every hit, so a collision
    /// costs a comparison, never a wrong module, and the cache holds at most
    /// `module_cache_capacity` keys.
    modules: HashMap<Arc<[u8]>, CacheEntry, rustc_hash::FxBuildHasher>,
    order: VecDeque<Arc<[u8]>>,
}

struct CacheEntry {
    module: Module,
    prepared: Vec<(PermissionManifest, Arc<Prepared>)>,
}

enum Lookup {
    Prepared(Arc<Prepared>),
    Module(Module),
    Miss,
}

impl Modules {
    fn new(capacity: usize) -> Self {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A module importing each registry entry's declared signature passes
    /// every check and links against the host's linker.
    #[test]
    fn every_registry_signature_passes_the_checks_and_links() {
        let runtime = crate::Runtime::new(crate::RuntimeConfig::default()).unwrap();
        for f in host::REGISTRY {
            let list = |t: &[wasmparser::ValType]| {
                t.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let (m, n) = (f.module, f.name);
            let wat = format!(
                "(module (import \"{m}\" \"{n}\" (func (param {}) (result {}))) (memory (export \"memory\") 1))",
                list(f.params),
                list(f.results)
            );
            let manifest = ComponentManifest::builder("sig")
                .allow_import(m, n)
                .build()
                .unwrap();
            let bytes: Arc<[u8]> = wat::parse_str(&wat).unwrap().into();
            runtime
                .prepare(&bytes, &manifest)
                .unwrap_or_else(|e| panic!("{wat}: {e}"));
        }
    }

    /// A module pre-linked under two permission sets keeps both: each later
    /// start under either finds its own pre-linked form (the same `Arc`),
    /// and preparing one again adds nothing.
    #[test]
    fn each_permission_set_is_linked_once_and_kept() {
        let runtime = crate::Runtime::new(crate::RuntimeConfig::default()).unwrap();
        let bytes: Arc<[u8]> = wat::parse_str("(module)").unwrap().into();
        let none = ComponentManifest::new("a").unwrap();
        let log = ComponentManifest::builder("b")
            .allow_import("host", "log")
            .build()
            .unwrap();
        let first_none = runtime.prepare(&bytes, &none).unwrap();
        let first_log = runtime.prepare(&bytes, &log).unwrap();
        assert!(!Arc::ptr_eq(&first_none, &first_log));
        for _ in 0..3 {
            assert!(Arc::ptr_eq(
                &runtime.prepare(&bytes, &none).unwrap(),
                &first_none
            ));
            assert!(Arc::ptr_eq(
                &runtime.prepare(&bytes, &log).unwrap(),
                &first_log
            ));
        }
        assert_eq!(runtime.cached_modules(), 1);
    }

    #[test]
    fn a_module_of_exactly_max_module_bytes_is_taken_and_one_byte_more_is_not() {
        let bytes = wat::parse_str("(module)").unwrap();
        let capped = |max_module_bytes: u64| {
            ComponentManifest::builder("size")
                .limits(crate::ResourceLimits {
                    max_module_bytes,
                    ..crate::ResourceLimits::default()
                })
                .build()
                .unwrap()
        };
        let len = bytes.len() as u64;
        assert!(check_size(&bytes, &capped(len)).is_ok());
        let e = check_size(&bytes, &capped(len - 1)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ModuleTooLarge, "{e}");
    }

    #[test]
    fn at_most_eight_permission_sets_are_kept_per_module() {
        let runtime = crate::Runtime::new(crate::RuntimeConfig::default()).unwrap();
        let bytes: Arc<[u8]> = wat::parse_str("(module)").unwrap().into();
        let sets: Vec<ComponentManifest> = (0..9)
            .map(|i| {
                ComponentManifest::builder("p")
                    .allow_import("m", format!("f{i}"))
                    .build()
                    .unwrap()
            })
            .collect();
        let first: Vec<_> = sets
            .iter()
            .map(|m| runtime.prepare(&bytes, m).unwrap())
            .collect();
        for (i, m) in sets.iter().enumerate() {
            let again = runtime.prepare(&bytes, m).unwrap();
            // The first eight are kept; the ninth is linked again each time.
            assert_eq!(Arc::ptr_eq(&again, &first[i]), i < 8, "set {i}");
        }
    }

    #[test]
    fn a_mistyped_lifecycle_export_is_described_in_the_error() {
        let runtime = crate::Runtime::new(crate::RuntimeConfig::default()).unwrap();
        let manifest = ComponentManifest::new("t").unwrap();
        for (wat, found) in [
            (r#"(module (func (export "_health")))"#, "is [] -> []"),
            (
                r#"(module (global (export "_health") i32 (i32.const 0)))"#,
                "is a global",
            ),
        ] {
            let bytes: Arc<[u8]> = wat::parse_str(wat).unwrap().into();
            let Err(e) = runtime.prepare(&bytes, &manifest) else {
                panic!("{wat} prepared");
            };
            assert_eq!(e.kind(), ErrorKind::ExportSignature, "{e}");
            assert_eq!(
                e.message(),
                format!("export `_health` {found}, expected a function [] -> [i32]"),
            );
        }
    }

    /// The types an export must return are carried over as they are, for
    /// every number type (the lifecycle exports use only `i32` today).
    #[test]
    fn required_signatures_keep_every_number_type() {
        let want = required(&rule(
            "x",
            &[ValType::I64],
            &[ValType::I32, ValType::I64, ValType::F32, ValType::F64],
        ));
        assert_eq!(want.to_string(), "[i64] -> [i32 i64 f32 f64]");
    }

    #[test]
    fn inspection_reads_imports_exports_and_sizes() {
        let bytes = wat::parse_str(
            r#"(module
                (type (func (param i32)))
                (import "host" "log" (func (param i32 i32)))
                (import "env" "m" (memory 1))
                (memory 3) (memory 2) (table 7 funcref)
                (func (export "_health") (result i64) (i64.const 0))
                (global (export "_start") i32 (i32.const 0)))"#,
        )
        .unwrap();
        let i = Inspection::of(&bytes).unwrap();
        assert_eq!(i.imports.len(), 2);
        assert_eq!(i.imports[0].item.describe(), "func [i32 i32] -> []");
        assert_eq!(i.imports[1].item, Item::Memory);
        assert_eq!(i.memories, [3 * 65536, 2 * 65536]);
        assert_eq!(i.tables, [7]);
        assert_eq!(i.export("_health").unwrap().describe(), "func [] -> [i64]");
        assert_eq!(i.export("_start"), Some(&Item::Global));
        assert_eq!(i.export("_cleanup"), None);
        assert!(Inspection::of(b"\0asm\x01\0\0\0\x01\xff").is_none());
    }
}

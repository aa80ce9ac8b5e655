//! `component-actor check FILE`: preflight without running guest code.

use std::path::PathBuf;

use component_actor::check::preflight;
use component_actor::{ComponentSource, ErrorKind, HOST_FUNCTIONS};
use serde::Serialize;

use super::{
    BadInput, ErrorDoc, Exit, ExitCodeField, ModuleHeader, human_bytes, human_duration, ms, say,
};

/// What `check` was asked to do.
pub struct Args {
    /// The module (`.wat` text or a binary).
    pub file: PathBuf,
    /// The manifest, if any.
    pub manifest: Option<PathBuf>,
}

/// The `check --json` document.
#[derive(Serialize)]
struct CheckDoc {
    #[serde(flatten)]
    header: ModuleHeader,
    admitted: bool,
    binary_bytes: Option<usize>,
    compile_ms: Option<f64>,
    exports: Vec<ExportDoc>,
    imports: Vec<ImportDoc>,
    denied: Vec<String>,
    permissions_line: Option<String>,
    resources: Option<ResourcesDoc>,
    /// Every reason the module will not start, in the order `start` meets
    /// them; the first is `error`.
    problems: Vec<ProblemDoc>,
    error: Option<ErrorDoc>,
    exit_code: ExitCodeField,
}

#[derive(Serialize)]
struct ExportDoc {
    name: &'static str,
    expected: String,
    found: Option<String>,
    ok: bool,
}

#[derive(Serialize)]
struct ProblemDoc {
    kind: String,
    message: String,
}

#[derive(Serialize)]
struct ImportDoc {
    /// How messages write it (`module::name`, or the table form when that
    /// would be ambiguous).
    import: String,
    /// The exact module and name.
    module: String,
    name: String,
    #[serde(rename = "type")]
    ty: String,
    permitted: bool,
    provided: bool,
}

#[derive(Serialize)]
struct ResourcesDoc {
    memories: u32,
    initial_memory_bytes: u64,
    total_initial_memory_bytes: u64,
    tables: u32,
    initial_table_elements: u64,
    total_initial_table_elements: u64,
}

/// Checks the module and prints the report.
///
/// # Errors
///
/// [`BadInput`] if the module file or the manifest cannot be used.
pub fn main(args: Args, json: bool) -> Result<Exit, BadInput> {
    super::require_file(&args.file, "module")?;
    let manifest = super::load_manifest(&args.file, args.manifest.as_deref())?;
    let runtime = super::runtime()?;
    let report = preflight(&runtime, &ComponentSource::from_file(&args.file), &manifest);
    if let Some(e) = &report.error
        && e.kind() == ErrorKind::Load
    {
        return Err(BadInput::from_error(e));
    }
    let exit = if report.admitted() {
        Exit::Success
    } else {
        Exit::ModuleFailed
    };
    let doc = CheckDoc {
        header: ModuleHeader::new("check", &args.file, args.manifest.as_deref(), &manifest),
        admitted: report.admitted(),
        binary_bytes: report.binary_bytes,
        compile_ms: report.compile_time.map(ms),
        exports: report
            .exports
            .iter()
            .map(|e| ExportDoc {
                name: e.name,
                expected: e.expected.clone(),
                found: e.found.clone(),
                ok: e.ok,
            })
            .collect(),
        imports: report
            .imports
            .iter()
            .map(|i| ImportDoc {
                import: i.path.clone(),
                module: i.module.clone(),
                name: i.name.clone(),
                ty: i.ty.clone(),
                permitted: i.permitted,
                provided: i.provided,
            })
            .collect(),
        denied: report
            .denied()
            .into_iter()
            .map(|(m, n)| component_actor::import_label(m, n))
            .collect(),
        permissions_line: report.permissions_line(&manifest),
        resources: report.resources.map(|r| ResourcesDoc {
            memories: r.memories,
            initial_memory_bytes: r.initial_memory_bytes,
            total_initial_memory_bytes: r.total_initial_memory_bytes,
            tables: r.tables,
            initial_table_elements: r.initial_table_elements,
            total_initial_table_elements: r.total_initial_table_elements,
        }),
        problems: report
            .problems
            .iter()
            .map(|p| ProblemDoc {
                kind: p.kind.to_string(),
                message: p.message.clone(),
            })
            .collect(),
        error: report.error.as_ref().map(ErrorDoc::of),
        exit_code: ExitCodeField(exit),
    };
    if json {
        super::print_json(&doc);
    } else {
        let detail = report.error.as_ref().map(super::detail).unwrap_or_default();
        print_text(&doc, &args, &manifest, &detail);
    }
    Ok(exit)
}

fn print_text(
    doc: &CheckDoc,
    args: &Args,
    manifest: &component_actor::ComponentManifest,
    detail: &[String],
) {
    doc.header.say_title(manifest);
    let load_failed = doc.binary_bytes.is_none();
    let error_line = |e: &ErrorDoc| format!("FAILED  {}: {}", e.kind, e.message);
    match (&doc.error, doc.binary_bytes) {
        (Some(e), None) => {
            say(format!("  load      {}", error_line(e)));
            for line in detail {
                say(format!("            {line}"));
            }
        }
        (_, Some(n)) => {
            let text = args.file.extension().is_some_and(|e| e == "wat");
            say(format!(
                "  load      ok      {n}-byte binary, starts with \\0asm{}",
                if text {
                    " (parsed from WebAssembly text)"
                } else {
                    ""
                }
            ))
        }
        (None, None) => {}
    }
    if load_failed {
        return print_verdict(doc);
    }
    match (&doc.error, doc.compile_ms) {
        // Nothing was read past the header (size cap, component, or
        // sections the compiler then rejected).
        (Some(e), None) if doc.exports.is_empty() => {
            say(format!("  compile   {}", error_line(e)));
            return print_verdict(doc);
        }
        (Some(_), None) => {
            say("  compile   skipped (refused before compiling, as start refuses it)")
        }
        (_, Some(t)) => say(format!(
            "  compile   ok      {}",
            human_duration(std::time::Duration::from_secs_f64(t / 1e3))
        )),
        (None, None) => {}
    }
    for (i, e) in doc.exports.iter().enumerate() {
        let label = if i == 0 { "exports" } else { "" };
        let status = match (&e.found, e.ok) {
            (None, _) => format!("absent  (optional; would be {})", e.expected),
            (Some(f), true) => format!("ok      {f}"),
            (Some(f), false) => format!("WRONG   {f}, expected a function {}", e.expected),
        };
        say(format!("  {label:<8}  {:<9} {status}", e.name));
    }
    if doc.imports.is_empty() {
        say("  imports   none");
    }
    let width = doc
        .imports
        .iter()
        .map(|i| i.import.len())
        .max()
        .unwrap_or(0);
    for (n, i) in doc.imports.iter().enumerate() {
        let label = if n == 0 { "imports" } else { "" };
        let status = match (i.permitted, i.provided) {
            (true, true) => "permitted",
            (true, false) => "UNSUPPORTED: permitted, but nothing provides it",
            (false, true) => "DENIED",
            (false, false) => "DENIED (and no host function provides it)",
        };
        say(format!(
            "  {label:<8}  {:<width$}  {:<28}  {status}",
            i.import, i.ty
        ));
    }
    if let Some(r) = &doc.resources {
        // "in all" only where it differs from the largest one.
        let memory_total = if r.memories > 1 {
            format!(", {} in all", human_bytes(r.total_initial_memory_bytes))
        } else {
            String::new()
        };
        let table_total = if r.tables > 1 {
            format!(", {} in all", r.total_initial_table_elements)
        } else {
            String::new()
        };
        say(format!(
            "  resources {} memor{} (largest initial {}{memory_total}), {} table{} (largest initial {} elements{table_total})",
            r.memories,
            if r.memories == 1 { "y" } else { "ies" },
            human_bytes(r.initial_memory_bytes),
            r.tables,
            if r.tables == 1 { "" } else { "s" },
            r.initial_table_elements
        ));
    }
    print_verdict(doc);
}

fn print_verdict(doc: &CheckDoc) {
    for p in &doc.problems {
        say(format!("  problem   {}: {}", p.kind, p.message));
    }
    say("");
    match &doc.error {
        None => say("admitted: start would get past every check made before guest code runs"),
        Some(e) => {
            say(format!("NOT ADMITTED: {}: {}", e.kind, e.message));
            if let Some(line) = &doc.permissions_line {
                say(format!(
                    "to permit the denied import{}, put this line under [permissions] in the manifest:",
                    if doc.denied.len() == 1 { "" } else { "s" }
                ));
                say(format!("  {line}"));
                let unprovided: Vec<&str> = doc
                    .imports
                    .iter()
                    .filter(|i| !i.permitted && !i.provided)
                    .map(|i| i.import.as_str())
                    .collect();
                if !unprovided.is_empty() {
                    let host: Vec<String> = HOST_FUNCTIONS
                        .iter()
                        .map(|(m, n)| format!("{m}::{n}"))
                        .collect();
                    say(format!(
                        "note: no host function provides {}; permitting {} is not enough, start would then fail with UnsupportedImport (host functions: {})",
                        unprovided.join(", "),
                        if unprovided.len() == 1 { "it" } else { "them" },
                        host.join(", ")
                    ));
                }
            }
        }
    }
}

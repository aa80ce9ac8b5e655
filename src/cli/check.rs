//! `component-actor check FILE`: preflight without running guest code.
//! The text report shows a module's WASI preview1 imports as one row
//! ([`WasiSummary`]); `--json` lists every import.

use component_actor::check::{CheckReport, ImportCheck, preflight};
use component_actor::{
    ComponentError, ComponentManifest, ComponentSource, ErrorKind, HOST_FUNCTIONS, WASI_MODULE,
};
use serde::Serialize;

use super::{BadInput, Exit, ModuleArgs, ModuleHeader, human_bytes, human_duration, say};

/// The `check --json` document: the library's [`CheckReport`] with the
/// header, the verdict and the suggested manifest line.
#[derive(Serialize)]
struct CheckDoc<'a> {
    #[serde(flatten)]
    header: ModuleHeader<'a>,
    admitted: bool,
    #[serde(flatten)]
    report: &'a CheckReport,
    denied: Vec<String>,
    permissions_line: Option<String>,
    exit_code: Exit,
}

/// Checks the module and prints the report.
///
/// # Errors
///
/// [`BadInput`] if the module file or the manifest cannot be used.
pub fn main(args: &ModuleArgs, json: bool) -> Result<Exit, BadInput> {
    super::require_file(&args.file, "module")?;
    let manifest = super::load_manifest(&args.file, args.manifest.as_deref())?;
    let runtime = super::runtime()?;
    let report = preflight(&runtime, &ComponentSource::from_file(&args.file), &manifest);
    if let Some(e) = &report.error
        && e.kind() == ErrorKind::Load
    {
        return Err(BadInput::from_error(e));
    }
    let exit = Exit::from_ok(report.admitted());
    let doc = CheckDoc {
        header: ModuleHeader::new("check", &args.file, args.manifest.as_deref(), &manifest),
        admitted: report.admitted(),
        report: &report,
        denied: report
            .denied()
            .into_iter()
            .map(|(m, n)| component_actor::import_label(m, n))
            .collect(),
        permissions_line: report.permissions_line(&manifest),
        exit_code: exit,
    };
    if json {
        super::print_json(&doc);
    } else {
        print_text(&doc, args, &manifest);
    }
    Ok(exit)
}

fn print_text(doc: &CheckDoc, args: &ModuleArgs, manifest: &ComponentManifest) {
    let report = doc.report;
    doc.header.say_title(manifest);
    let error_line = |e: &ComponentError| format!("FAILED  {}: {}", e.kind(), e.message());
    match (&report.error, report.binary_bytes) {
        (Some(e), None) => {
            say(format!("  load      {}", error_line(e)));
            for line in super::detail(e) {
                say(format!("            {line}"));
            }
            return print_verdict(doc);
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
    match (&report.error, report.compile_time) {
        // Nothing was read past the header (size cap, component, or
        // sections the compiler then rejected).
        (Some(e), None) if report.exports.is_empty() => {
            say(format!("  compile   {}", error_line(e)));
            return print_verdict(doc);
        }
        (Some(_), None) => {
            say("  compile   skipped (refused before compiling, as start refuses it)")
        }
        (_, Some(t)) => say(format!("  compile   ok      {}", human_duration(t))),
        (None, None) => {}
    }
    for (i, e) in report.exports.iter().enumerate() {
        let label = if i == 0 { "exports" } else { "" };
        let status = match (&e.found, e.ok) {
            (None, _) => format!("absent  (optional; would be {})", e.expected),
            (Some(f), true) => format!("ok      {f}"),
            (Some(f), false) => format!("WRONG   {f}, expected a function {}", e.expected),
        };
        say(format!("  {label:<8}  {:<9} {status}", e.name));
    }
    let mut imports = super::table(["", "import", "type", "status"], &[]);
    let wasi = WasiSummary::of(report);
    let mut rows = 0;
    let mut row = |cells: [String; 3]| {
        let label = if rows == 0 { "  imports " } else { "" };
        let [path, ty, status] = cells;
        super::add_row(&mut imports, [label.into(), path, ty, status]);
        rows += 1;
    };
    let mut wasi_shown = false;
    for i in &report.imports {
        if wasi.as_ref().is_some_and(|w| w.covers(i)) {
            if let Some(w) = wasi.as_ref().filter(|_| !wasi_shown) {
                wasi_shown = true;
                row(w.row());
            }
            continue;
        }
        let status = match (i.permitted, i.provided) {
            (true, true) => "permitted",
            (true, false) => "UNSUPPORTED: permitted, but nothing provides it",
            (false, true) => "DENIED",
            (false, false) => "DENIED (and no host function provides it)",
        };
        row([i.path.clone(), i.ty.clone(), status.into()]);
    }
    if report.imports.is_empty() {
        say("  imports   none");
    } else {
        // The rows without the header line, under the labels' column.
        for line in imports.lines().skip(1) {
            say(line);
        }
    }
    if let Some(r) = &report.resources {
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

/// The module's WASI preview1 functions as one row of the text report
/// instead of one each (a C program imports a dozen or more): every
/// function import from [`WASI_MODULE`] that WASI provides, when the
/// manifest permits all of them or none. The others (a name WASI lacks, a
/// memory imported from there, a mix of permitted and denied) stay rows
/// of their own. `--json` lists every import.
struct WasiSummary {
    functions: usize,
    permitted: bool,
}

impl WasiSummary {
    fn of(report: &CheckReport) -> Option<Self> {
        let wasi: Vec<&ImportCheck> = report
            .imports
            .iter()
            .filter(|i| i.module == WASI_MODULE && i.provided)
            .collect();
        let permitted = wasi.first()?.permitted;
        wasi.iter()
            .all(|i| i.permitted == permitted)
            .then_some(Self {
                functions: wasi.len(),
                permitted,
            })
    }

    fn covers(&self, i: &ImportCheck) -> bool {
        i.module == WASI_MODULE && i.provided
    }

    fn row(&self) -> [String; 3] {
        let n = self.functions;
        [
            format!("{WASI_MODULE}::*"),
            format!("{n} function{}", if n == 1 { "" } else { "s" }),
            if self.permitted {
                "permitted (WASI)".into()
            } else {
                "DENIED: add a [wasi] table to the manifest".into()
            },
        ]
    }
}

fn print_verdict(doc: &CheckDoc) {
    let report = doc.report;
    for p in &report.problems {
        say(format!("  problem   {}: {}", p.kind, p.message));
    }
    say("");
    match &report.error {
        None => say("admitted: start would get past every check made before guest code runs"),
        Some(e) => {
            say(format!("NOT ADMITTED: {}: {}", e.kind(), e.message()));
            if report.needs_wasi() {
                say("to grant WASI, add a [wasi] table to the manifest (see README)");
            }
            if let Some(line) = &doc.permissions_line {
                // The line leaves WASI imports out: the [wasi] table grants them.
                let denied = report
                    .denied()
                    .iter()
                    .filter(|(m, _)| *m != WASI_MODULE)
                    .count();
                say(format!(
                    "to permit the denied import{}, put this line under [permissions] in the manifest:",
                    if denied == 1 { "" } else { "s" }
                ));
                say(format!("  {line}"));
                let unprovided: Vec<&str> = report
                    .imports
                    .iter()
                    .filter(|i| !i.permitted && !i.provided)
                    .map(|i| i.path.as_str())
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

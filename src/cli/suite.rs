//! `component-actor suite [DIR]`: every fixture through the lifecycle, as a
//! conformance table. A fixture that cannot be loaded (no header, a
//! malformed one, unreadable) is one failed row, `BROKEN`, with the reason;
//! the others still run.

use std::path::{Path, PathBuf};

use component_actor::suite::{self, Fixture, FixtureError};
use serde::Serialize;

use super::{BadInput, Exit, ExitCodeField, SCHEMA_VERSION, human_duration, ms, say};

/// The bundled fixtures: `wat/` of the source tree this binary was built from.
pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("wat")
}

/// The `suite --json` document.
#[derive(Serialize)]
struct SuiteDoc {
    schema_version: u32,
    command: &'static str,
    dir: String,
    fixtures: Vec<FixtureDoc>,
    passed: usize,
    failed: usize,
    exit_code: ExitCodeField,
}

/// One row of the table.
#[derive(Serialize)]
struct FixtureDoc {
    name: String,
    file: String,
    describe: String,
    /// `null` when the fixture's header could not be read.
    expected: Option<String>,
    observed: Option<String>,
    start_ms: Option<f64>,
    stop_ms: Option<f64>,
    ok: bool,
    problems: Vec<String>,
}

/// Runs the suite in `dir` and prints the table (or the JSON document).
///
/// # Errors
///
/// [`BadInput`] if `dir` cannot be read or holds no fixture file. A broken
/// fixture is a failed row, not bad input.
pub fn main(dir: Option<PathBuf>, json: bool) -> Result<Exit, BadInput> {
    let dir = dir.unwrap_or_else(default_dir);
    if !dir.is_dir() {
        return Err(BadInput {
            kind: "Load".into(),
            message: format!("fixture directory {} does not exist", dir.display()),
        });
    }
    let fixtures = suite::discover_each(&dir).map_err(|e| BadInput {
        kind: "Load".into(),
        message: e.to_string(),
    })?;
    if fixtures.is_empty() {
        return Err(BadInput {
            kind: "Load".into(),
            message: format!("no .wat or .wasm fixtures in {}", dir.display()),
        });
    }
    let runtime = super::runtime()?;
    let rt = super::tokio_current_thread()?;
    let width = fixtures
        .iter()
        .map(|f| match f {
            Ok(f) => f.name.len(),
            Err(e) => name_of(e).len(),
        })
        .max()
        .unwrap_or(0)
        .max(7);
    if !json {
        say(format!(
            "{:<width$}  {:<30}  {:<30}  {:>9}  {:>9}  result",
            "fixture", "expected", "observed", "start", "stop"
        ));
    }
    let mut rows = Vec::with_capacity(fixtures.len());
    for fixture in &fixtures {
        let row = match fixture {
            Ok(fixture) => run_one(&rt, &runtime, fixture),
            Err(e) => broken(e),
        };
        if !json {
            print_row(&row, width);
        }
        rows.push(row);
    }
    let failed = rows.iter().filter(|r| !r.ok).count();
    let passed = rows.len() - failed;
    let exit = if failed == 0 {
        Exit::Success
    } else {
        Exit::ModuleFailed
    };
    if json {
        super::print_json(&SuiteDoc {
            schema_version: SCHEMA_VERSION,
            command: "suite",
            dir: dir.display().to_string(),
            fixtures: rows,
            passed,
            failed,
            exit_code: ExitCodeField(exit),
        });
    } else {
        say(format!("{passed} passed, {failed} failed"));
    }
    Ok(exit)
}

fn run_one(
    rt: &tokio::runtime::Runtime,
    runtime: &component_actor::Runtime,
    fixture: &Fixture,
) -> FixtureDoc {
    let mut row = FixtureDoc {
        name: fixture.name.clone(),
        file: fixture.path.display().to_string(),
        describe: fixture.describe.clone(),
        expected: Some(fixture.expect.to_string()),
        observed: None,
        start_ms: None,
        stop_ms: None,
        ok: false,
        problems: Vec::new(),
    };
    match rt.block_on(suite::run(runtime, fixture)) {
        Ok(o) => {
            row.problems = suite::mismatches(fixture, &o);
            row.ok = row.problems.is_empty();
            row.observed = Some(o.summary());
            row.start_ms = Some(ms(o.start_time));
            row.stop_ms = Some(ms(o.stop_time));
        }
        Err(e) => row.problems.push(format!("fixture error: {e}")),
    }
    row
}

/// A fixture's name as the table shows it: its file name without the extension.
fn name_of(e: &FixtureError) -> String {
    e.path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The row of a fixture that could not be loaded: failed, with the reason.
fn broken(e: &FixtureError) -> FixtureDoc {
    FixtureDoc {
        name: name_of(e),
        file: e.path.display().to_string(),
        describe: String::new(),
        expected: None,
        observed: None,
        start_ms: None,
        stop_ms: None,
        ok: false,
        problems: vec![format!("fixture error: {e}")],
    }
}

fn print_row(row: &FixtureDoc, width: usize) {
    let time = |t: Option<f64>| {
        t.map(|ms| human_duration(std::time::Duration::from_secs_f64(ms / 1e3)))
            .unwrap_or_else(|| "-".into())
    };
    say(format!(
        "{:<width$}  {:<30}  {:<30}  {:>9}  {:>9}  {}",
        row.name,
        row.expected.as_deref().unwrap_or("-"),
        row.observed.as_deref().unwrap_or("-"),
        time(row.start_ms),
        time(row.stop_ms),
        match (row.ok, &row.observed) {
            (true, _) => "ok",
            // Nothing was observed: the fixture itself could not be run.
            (false, None) => "BROKEN",
            (false, Some(_)) => "MISMATCH",
        }
    ));
    for p in &row.problems {
        say(format!("    {p}"));
    }
}

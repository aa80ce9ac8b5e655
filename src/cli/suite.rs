//! `component-actor suite [DIR]`: every fixture through the lifecycle, as a
//! conformance table. Without `DIR`, the fixtures bundled in the binary
//! (`wat/` of its source tree, embedded at build time) run, from any
//! folder. A fixture that cannot be loaded (no header, a malformed one,
//! unreadable) is one failed row, `BROKEN`, with the reason; the others
//! still run.

use std::path::Path;

use component_actor::suite::{self, Fixture, FixtureError, Observation};
use serde::Serialize;

use super::{BadInput, Exit, SCHEMA_VERSION, human_duration, say};

/// The bundled fixtures and their sidecar manifests: (`wat/NAME`, text).
pub const BUNDLED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/bundled_fixtures.rs"));

/// What `dir` says in the JSON document when the bundled fixtures ran.
const BUNDLED_DIR: &str = "(bundled) wat";

/// The `suite --json` document.
#[derive(Serialize)]
struct SuiteDoc<'a> {
    schema_version: u32,
    command: &'static str,
    dir: String,
    fixtures: Vec<Row<'a>>,
    passed: usize,
    failed: usize,
    exit_code: Exit,
}

/// One row of the table: the library's [`Fixture`] and [`Observation`]
/// (flattened: `describe`, `expect`, `start_ms`, `stop_ms`, the states, ...),
/// and the verdict.
#[derive(Serialize)]
struct Row<'a> {
    /// The name of a broken fixture (else the fixture's own `name`).
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    file: String,
    /// `null` when the fixture's header could not be read.
    expected: Option<String>,
    /// `null` when the fixture itself could not be run.
    observed: Option<String>,
    #[serde(flatten)]
    fixture: Option<&'a Fixture>,
    #[serde(flatten)]
    observation: Option<Observation>,
    /// What a row without a fixture or an observation still has, as `null`
    /// (or an empty `describe`), so that every row has the same fields.
    #[serde(flatten)]
    missing: Missing,
    ok: bool,
    problems: Vec<String>,
}

#[derive(Serialize, Default)]
struct Missing {
    #[serde(skip_serializing_if = "Option::is_none")]
    describe: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_ms: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop_ms: Option<Option<f64>>,
}

impl Missing {
    fn of(fixture: Option<&Fixture>, observation: Option<&Observation>) -> Self {
        let not_run = observation.is_none().then_some(None);
        Self {
            describe: fixture.is_none().then_some(""),
            start_ms: not_run,
            stop_ms: not_run,
        }
    }
}

impl Row<'_> {
    fn name(&self) -> &str {
        match (&self.name, self.fixture) {
            (Some(name), _) => name,
            (None, Some(f)) => &f.name,
            (None, None) => "",
        }
    }
}

/// Runs the suite in `dir` (or the bundled one) and prints the table (or
/// the JSON document).
///
/// # Errors
///
/// [`BadInput`] if `dir` cannot be read or holds no fixture file. A broken
/// fixture is a failed row, not bad input.
pub fn main(dir: Option<&Path>, json: bool) -> Result<Exit, BadInput> {
    let load = |message: String| BadInput::new("Load", message);
    let (fixtures, shown) = match dir {
        None => (suite::from_memory(BUNDLED), BUNDLED_DIR.to_string()),
        Some(dir) if !dir.is_dir() => {
            return Err(load(format!(
                "fixture directory {} does not exist",
                dir.display()
            )));
        }
        Some(dir) => (
            suite::discover_each(dir).map_err(|e| load(e.to_string()))?,
            dir.display().to_string(),
        ),
    };
    if fixtures.is_empty() {
        return Err(load(format!("no .wat or .wasm fixtures in {shown}")));
    }
    let runtime = super::runtime()?;
    let rt = super::tokio_current_thread()?;
    let rows: Vec<Row> = fixtures
        .iter()
        .map(|fixture| match fixture {
            Ok(fixture) => run_one(&rt, &runtime, fixture),
            Err(e) => broken(e),
        })
        .collect();
    let failed = rows.iter().filter(|r| !r.ok).count();
    let passed = rows.len() - failed;
    let exit = Exit::from_ok(failed == 0);
    if json {
        super::print_json(&SuiteDoc {
            schema_version: SCHEMA_VERSION,
            command: "suite",
            dir: shown,
            fixtures: rows,
            passed,
            failed,
            exit_code: exit,
        });
    } else {
        print_table(&rows);
        say(format!("{passed} passed, {failed} failed"));
    }
    Ok(exit)
}

fn run_one<'a>(
    rt: &tokio::runtime::Runtime,
    runtime: &component_actor::Runtime,
    fixture: &'a Fixture,
) -> Row<'a> {
    let mut row = Row {
        name: None,
        file: fixture.path.display().to_string(),
        expected: Some(fixture.expect.to_string()),
        observed: None,
        fixture: Some(fixture),
        observation: None,
        missing: Missing::default(),
        ok: false,
        problems: Vec::new(),
    };
    match rt.block_on(suite::run(runtime, fixture)) {
        Ok(o) => {
            row.problems = suite::mismatches(fixture, &o);
            row.ok = row.problems.is_empty();
            row.observed = Some(o.summary());
            row.observation = Some(o);
        }
        Err(e) => row.problems.push(format!("fixture error: {e}")),
    }
    row.missing = Missing::of(row.fixture, row.observation.as_ref());
    row
}

/// The row of a fixture that could not be loaded: failed, with the reason.
fn broken(e: &FixtureError) -> Row<'static> {
    Row {
        name: Some(
            e.path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ),
        file: e.path.display().to_string(),
        expected: None,
        observed: None,
        fixture: None,
        observation: None,
        missing: Missing::of(None, None),
        ok: false,
        problems: vec![format!("fixture error: {e}")],
    }
}

/// The table, then each failed row's problems under its name.
fn print_table(rows: &[Row]) {
    let time = |o: Option<&Observation>, f: fn(&Observation) -> std::time::Duration| {
        o.map(|o| human_duration(f(o)))
            .unwrap_or_else(|| "-".into())
    };
    let mut table = super::table(
        ["fixture", "expected", "observed", "start", "stop", "result"],
        &[3, 4],
    );
    for row in rows {
        let o = row.observation.as_ref();
        let result = match (row.ok, o) {
            (true, _) => "ok",
            // Nothing was observed: the fixture itself could not be run.
            (false, None) => "BROKEN",
            (false, Some(_)) => "MISMATCH",
        };
        super::add_row(
            &mut table,
            [
                row.name().to_string(),
                row.expected.clone().unwrap_or_else(|| "-".into()),
                row.observed.clone().unwrap_or_else(|| "-".into()),
                time(o, |o| o.start_time),
                time(o, |o| o.stop_time),
                result.into(),
            ],
        );
    }
    super::say_table(&table);
    for row in rows.iter().filter(|r| !r.problems.is_empty()) {
        say(format!("{}:", row.name()));
        for p in &row.problems {
            say(format!("    {p}"));
        }
    }
}

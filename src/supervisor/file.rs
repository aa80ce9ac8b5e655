//! A supervision tree declared in TOML.
//!
//! The format is in [`SupervisorSpec::from_file`]'s docs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::{ComponentError, ErrorKind};
use crate::manifest::{ComponentManifest, toml_error_line};
use crate::runtime::loader::ComponentSource;
use crate::supervisor::spec::{ChildSpec, Restart, Shutdown, Strategy, SupervisorSpec};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlSupervisor {
    strategy: Option<TomlStrategy>,
    intensity: Option<u32>,
    period_ms: Option<u64>,
    health_failures_to_restart: Option<u32>,
    health_interval_ms: Option<u64>,
    #[serde(default)]
    children: Vec<TomlChild>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum TomlStrategy {
    OneForOne,
    OneForAll,
    RestForOne,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum TomlRestart {
    Permanent,
    Transient,
    Temporary,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TomlShutdown {
    Ms(u64),
    Word(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlChild {
    id: String,
    module: Option<PathBuf>,
    manifest: Option<PathBuf>,
    supervisor: Option<TomlSupervisor>,
    restart: Option<TomlRestart>,
    shutdown_ms: Option<TomlShutdown>,
    standby: Option<bool>,
}

fn bad(path: &Path, why: impl std::fmt::Display) -> ComponentError {
    ComponentError::new(
        "<supervision tree>",
        ErrorKind::Manifest,
        format!("{}: {why}", path.display()),
    )
}

impl SupervisorSpec {
    /// Reads a supervision tree from a TOML file. Module and manifest
    /// paths are relative to the file's folder; each manifest is read and
    /// checked here, the modules when their actor starts.
    ///
    /// ```toml
    /// strategy = "one_for_one"        # one_for_one | one_for_all | rest_for_one
    /// intensity = 1                   # restarts allowed ...
    /// period_ms = 5000                # ... within this window
    /// health_failures_to_restart = 3  # optional: restart after 3 failed checks
    /// health_interval_ms = 1000       # time between checks (default 1000)
    ///
    /// [[children]]
    /// id = "counter"
    /// module = "counter.wat"          # relative to this file's folder
    /// manifest = "counter.toml"       # optional (default: a manifest named `id`)
    /// restart = "permanent"           # permanent | transient | temporary
    /// shutdown_ms = 5000              # or "infinity"
    /// standby = false                 # true: keep a standby instance for restarts
    ///
    /// [[children]]
    /// id = "workers"                  # a nested supervisor
    /// [children.supervisor]
    /// strategy = "rest_for_one"
    /// [[children.supervisor.children]]
    /// id = "echo"
    /// module = "echo.wat"
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Load`] if a file cannot be read; [`ErrorKind::Manifest`]
    /// for bad TOML, an unknown key or value, a child with neither or both
    /// of `module` and `supervisor`, `standby` on a supervisor child, or a
    /// bad manifest.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ComponentError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ComponentError::new(
                "<supervision tree>",
                ErrorKind::Load,
                format!("cannot read {}: {e}", path.display()),
            )
            .with_source(e)
        })?;
        let tree: TomlSupervisor =
            toml::from_str(&text).map_err(|e| bad(path, toml_error_line(&text, &e)))?;
        let base = path.parent().unwrap_or(Path::new("."));
        build(tree, path, base)
    }
}

fn build(tree: TomlSupervisor, file: &Path, base: &Path) -> Result<SupervisorSpec, ComponentError> {
    let mut spec = SupervisorSpec::new();
    if let Some(s) = tree.strategy {
        spec = spec.strategy(match s {
            TomlStrategy::OneForOne => Strategy::OneForOne,
            TomlStrategy::OneForAll => Strategy::OneForAll,
            TomlStrategy::RestForOne => Strategy::RestForOne,
        });
    }
    let defaults = spec.intensity;
    spec = spec.intensity(
        tree.intensity.unwrap_or(defaults.restarts),
        tree.period_ms
            .map_or(defaults.period, Duration::from_millis),
    );
    match (tree.health_failures_to_restart, tree.health_interval_ms) {
        (Some(n), ms) => {
            spec = spec.health(n, Duration::from_millis(ms.unwrap_or(1000)));
        }
        (None, Some(_)) => {
            return Err(bad(
                file,
                "health_interval_ms without health_failures_to_restart",
            ));
        }
        (None, None) => {}
    }
    for c in tree.children {
        let mut child = match (c.module, c.supervisor) {
            (Some(module), None) => {
                let manifest = match c.manifest {
                    Some(m) => ComponentManifest::from_file(base.join(m))?,
                    None => ComponentManifest::new(c.id.clone())
                        .map_err(|e| bad(file, format!("child {:?}: {}", c.id, e.message())))?,
                };
                ChildSpec::actor(
                    c.id.clone(),
                    ComponentSource::from_file(base.join(module)),
                    manifest,
                )
            }
            (None, Some(nested)) => {
                if c.manifest.is_some() {
                    return Err(bad(
                        file,
                        format!("child {:?}: a supervisor has no manifest", c.id),
                    ));
                }
                if c.standby.is_some() {
                    return Err(bad(
                        file,
                        format!("child {:?}: `standby` is for actor children", c.id),
                    ));
                }
                ChildSpec::supervisor(c.id.clone(), build(nested, file, base)?)
            }
            _ => {
                return Err(bad(
                    file,
                    format!(
                        "child {:?}: give exactly one of `module` and `supervisor`",
                        c.id
                    ),
                ));
            }
        };
        if let Some(r) = c.restart {
            child = child.restart(match r {
                TomlRestart::Permanent => Restart::Permanent,
                TomlRestart::Transient => Restart::Transient,
                TomlRestart::Temporary => Restart::Temporary,
            });
        }
        match c.shutdown_ms {
            Some(TomlShutdown::Ms(ms)) => {
                child = child.shutdown(Shutdown::Timeout(Duration::from_millis(ms)));
            }
            Some(TomlShutdown::Word(w)) if w == "infinity" => {
                child = child.shutdown(Shutdown::Infinity);
            }
            Some(TomlShutdown::Word(w)) => {
                return Err(bad(
                    file,
                    format!(
                        "child {:?}: shutdown_ms {w:?}: a number or \"infinity\"",
                        c.id
                    ),
                ));
            }
            None => {}
        }
        if let Some(keep) = c.standby {
            child = child.standby(keep);
        }
        spec = spec.child(child);
    }
    Ok(spec)
}

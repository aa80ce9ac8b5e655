//! `Serialize` for the report types (the `serde` feature): the helpers the
//! derives name, and the one hand-written impl, [`ComponentError`]'s.
//!
//! Durations are written as milliseconds (floats with nanosecond
//! resolution, or whole milliseconds for limits), error kinds as their
//! names, imports as their labels and exact pairs.

use std::time::Duration;

use serde::Serialize;
use serde::ser::{SerializeMap as _, Serializer};

use crate::error::{ComponentError, ErrorKind};

/// Milliseconds as a float with nanosecond resolution (`4.392598`).
pub(crate) fn millis(d: &Duration) -> f64 {
    d.as_nanos() as f64 / 1e6
}

/// A duration as float milliseconds.
pub(crate) fn ms<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(millis(d))
}

/// An optional duration as float milliseconds or `null`.
pub(crate) fn option_ms<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    d.as_ref().map(millis).serialize(s)
}

/// A duration as whole milliseconds (a limit).
pub(crate) fn whole_ms<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `Ok(())` as `"ok"`, an error kind as its name: a fixture's start.
pub(crate) fn start<S: Serializer>(r: &Result<(), ErrorKind>, s: S) -> Result<S::Ok, S::Error> {
    match r {
        Ok(()) => s.serialize_str("ok"),
        Err(kind) => s.serialize_str(kind.as_str()),
    }
}

/// One import as its exact pair.
#[derive(Serialize)]
struct Pair<'a> {
    module: &'a str,
    name: &'a str,
}

/// `{component, kind, message, denied, denied_imports, exit_code}`
/// (`exit_code`: the `proc_exit` code of an `Exit` error, else null): `denied` holds
/// the labels of a `PermissionDenied` error's imports
/// ([`import_label`](crate::import_label)), `denied_imports` the same
/// imports as exact `{module, name}` pairs; both are empty for other kinds.
/// The source is not written (its text is in the message).
impl Serialize for ComponentError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let denied = self.denied_imports();
        let mut map = s.serialize_map(Some(6))?;
        map.serialize_entry("component", self.component())?;
        map.serialize_entry("kind", &self.kind())?;
        map.serialize_entry("message", self.message())?;
        let labels: Vec<String> = denied
            .iter()
            .map(|(m, n)| crate::import_path::import_label(m, n))
            .collect();
        map.serialize_entry("denied", &labels)?;
        let pairs: Vec<Pair<'_>> = denied
            .iter()
            .map(|&(module, name)| Pair { module, name })
            .collect();
        map.serialize_entry("denied_imports", &pairs)?;
        map.serialize_entry("exit_code", &self.exit_code())?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Times {
        #[serde(serialize_with = "ms")]
        ms: Duration,
        #[serde(serialize_with = "option_ms")]
        some: Option<Duration>,
        #[serde(serialize_with = "option_ms")]
        none: Option<Duration>,
        #[serde(serialize_with = "whole_ms")]
        whole: Duration,
        #[serde(serialize_with = "start")]
        ok: Result<(), ErrorKind>,
        #[serde(serialize_with = "start")]
        failed: Result<(), ErrorKind>,
    }

    #[test]
    fn durations_are_milliseconds_and_starts_are_names() {
        let doc = serde_json::to_value(Times {
            ms: Duration::from_nanos(4_392_598),
            some: Some(Duration::from_micros(2500)),
            none: None,
            whole: Duration::from_micros(100_900),
            ok: Ok(()),
            failed: Err(ErrorKind::MemoryLimit),
        })
        .unwrap();
        assert_eq!(
            doc,
            serde_json::json!({
                "ms": 4.392598, "some": 2.5, "none": null, "whole": 100,
                "ok": "ok", "failed": "MemoryLimit",
            })
        );
    }

    #[test]
    fn an_error_is_its_kind_message_and_exact_denied_pairs() {
        let pair = |m: &str, n: &str| (m.to_string(), n.to_string());
        let e = ComponentError::permission_denied("x", vec![pair("env", "a"), pair("a", "b::c")]);
        let doc = serde_json::to_value(&e).unwrap();
        assert_eq!(doc["component"], "x");
        assert_eq!(doc["kind"], "PermissionDenied");
        assert_eq!(doc["message"], e.message());
        assert_eq!(
            doc["denied"],
            serde_json::json!(["env::a", r#"{ module = "a", name = "b::c" }"#])
        );
        assert_eq!(
            doc["denied_imports"],
            serde_json::json!([{"module": "env", "name": "a"}, {"module": "a", "name": "b::c"}])
        );
        for kind in ErrorKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }
}

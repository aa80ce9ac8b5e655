//! The crate's one error type, [`ComponentError`], and its [`ErrorKind`].
//!
//! Every failure a caller can see is a `ComponentError`: it names the
//! component, says in one line what went wrong, and keeps the underlying
//! wasmtime error (with its wasm backtrace) as its [`source`](std::error::Error::source).
//! Which [`ErrorKind`] a wasmtime failure becomes is decided in one place,
//! `src/runtime/classify.rs`, which also says which kinds are permanent
//! ([`ErrorKind::is_permanent`]).

use std::fmt;
use std::str::FromStr;

/// What kind of failure a [`ComponentError`] reports.
///
/// The kinds are stable: tests, the CLI's `--json` output and fixture headers
/// name them by [`ErrorKind::as_str`].
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The module's bytes could not be read (missing or unreadable file).
    Load,
    /// The module has zero bytes.
    EmptyModule,
    /// The bytes do not start with the `\0asm` magic of a WebAssembly binary.
    InvalidMagic,
    /// The WebAssembly text format could not be parsed.
    InvalidWat,
    /// Wasmtime rejected the binary (validation or compilation failed).
    Compile,
    /// The manifest is malformed: bad TOML, an unknown key or an absurd limit.
    Manifest,
    /// The module imports something the manifest does not permit.
    PermissionDenied,
    /// Instantiation failed for a reason other than a limit (for example
    /// every pool slot is taken).
    Instantiation,
    /// Linear memory would exceed `max_memory_bytes`.
    MemoryLimit,
    /// A table would exceed `max_table_elements`.
    TableLimit,
    /// The guest used up its fuel budget for one call.
    OutOfFuel,
    /// The guest ran past its wall-clock deadline for one call.
    Deadline,
    /// The guest trapped (unreachable, out-of-bounds access, stack overflow, ...).
    Trap,
    /// An export the lifecycle calls (`_start`, `_cleanup`, `_health`) has the
    /// wrong type.
    ExportSignature,
    /// The operation is not allowed in the actor's current state.
    InvalidTransition,
    /// A stop was requested (through [`ActorHandle::request_stop`](crate::ActorHandle::request_stop))
    /// while the actor was starting: the start was completed and then
    /// stopped, and the actor is Terminated.
    Cancelled,
    /// The runtime configuration asked for something that cannot be had
    /// (for example a pool that cannot be reserved); nothing was started.
    Config,
    /// The module's binary is larger than `max_module_bytes`; it was not
    /// compiled.
    ModuleTooLarge,
    /// The module imports something no host provides: a name no host
    /// function has, a host function with another signature, or a memory,
    /// table, global or tag.
    UnsupportedImport,
    /// A WASI guest ended with `proc_exit(n)`, n != 0, during `start`
    /// ([`ComponentError::exit_code`] carries n); the output it wrote until
    /// then is kept ([`ComponentActor::wasi_output`](crate::ComponentActor::wasi_output)).
    /// After `proc_exit` (0 included) no guest code runs on that instance
    /// again, and later calls into it get this kind too.
    Exit,
    /// [`ComponentActor::call`](crate::ComponentActor::call) named an export
    /// the module does not have (or that is not a function).
    NotExported,
    /// [`Address::try_send`](crate::Address::try_send) found the mailbox
    /// full; the message comes back with the error.
    MailboxFull,
    /// The message was not handled because the actor is not running: it
    /// was sent to an actor that is not Ready, was still queued when a stop
    /// came, or was queued behind a message that failed the actor.
    Stopped,
    /// A message, or a guest's reply, is larger than the manifest's
    /// `[mailbox] max_message_bytes`.
    MessageTooLarge,
    /// The guest broke the message ABI: `alloc-message` or `handle-message`
    /// returned a pointer and length outside its memory (the actor stays
    /// Ready: no guest call was cut off).
    MessageAbi,
}

impl ErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: [ErrorKind; 25] = [
        ErrorKind::Load,
        ErrorKind::EmptyModule,
        ErrorKind::InvalidMagic,
        ErrorKind::InvalidWat,
        ErrorKind::Compile,
        ErrorKind::Manifest,
        ErrorKind::PermissionDenied,
        ErrorKind::Instantiation,
        ErrorKind::MemoryLimit,
        ErrorKind::TableLimit,
        ErrorKind::OutOfFuel,
        ErrorKind::Deadline,
        ErrorKind::Trap,
        ErrorKind::ExportSignature,
        ErrorKind::InvalidTransition,
        ErrorKind::Cancelled,
        ErrorKind::Config,
        ErrorKind::ModuleTooLarge,
        ErrorKind::UnsupportedImport,
        ErrorKind::Exit,
        ErrorKind::NotExported,
        ErrorKind::MailboxFull,
        ErrorKind::Stopped,
        ErrorKind::MessageTooLarge,
        ErrorKind::MessageAbi,
    ];

    /// The kind's stable name, identical to the variant name (`"MemoryLimit"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Load => "Load",
            ErrorKind::EmptyModule => "EmptyModule",
            ErrorKind::InvalidMagic => "InvalidMagic",
            ErrorKind::InvalidWat => "InvalidWat",
            ErrorKind::Compile => "Compile",
            ErrorKind::Manifest => "Manifest",
            ErrorKind::PermissionDenied => "PermissionDenied",
            ErrorKind::Instantiation => "Instantiation",
            ErrorKind::MemoryLimit => "MemoryLimit",
            ErrorKind::TableLimit => "TableLimit",
            ErrorKind::OutOfFuel => "OutOfFuel",
            ErrorKind::Deadline => "Deadline",
            ErrorKind::Trap => "Trap",
            ErrorKind::ExportSignature => "ExportSignature",
            ErrorKind::InvalidTransition => "InvalidTransition",
            ErrorKind::Cancelled => "Cancelled",
            ErrorKind::Config => "Config",
            ErrorKind::ModuleTooLarge => "ModuleTooLarge",
            ErrorKind::UnsupportedImport => "UnsupportedImport",
            ErrorKind::Exit => "Exit",
            ErrorKind::NotExported => "NotExported",
            ErrorKind::MailboxFull => "MailboxFull",
            ErrorKind::Stopped => "Stopped",
            ErrorKind::MessageTooLarge => "MessageTooLarge",
            ErrorKind::MessageAbi => "MessageAbi",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name given to [`ErrorKind::from_str`] is not a kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownErrorKind(pub String);

impl fmt::Display for UnknownErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown error kind `{}`", self.0)
    }
}

impl std::error::Error for UnknownErrorKind {}

impl FromStr for ErrorKind {
    type Err = UnknownErrorKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ErrorKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownErrorKind(s.to_string()))
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A failure of one component, with its [`ErrorKind`].
///
/// `Display` is one line: `component `name`: message`. The wasmtime error
/// that caused it, when there is one, is the [`source`](std::error::Error::source).
///
/// One pointer wide: the fields are boxed, so that every `Result` carrying
/// one stays small and cheap to move on the paths that succeed (a
/// message's reply is a `Result<Bytes, ComponentError>` moved through
/// several calls and a channel), at one allocation more when an error is
/// made.
pub struct ComponentError(Box<Fields>);

#[derive(Debug)]
struct Fields {
    component: String,
    kind: ErrorKind,
    message: String,
    denied: Vec<(String, String)>,
    exit_code: Option<i32>,
    source: Option<BoxError>,
}

impl fmt::Debug for ComponentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Fields {
            component,
            kind,
            message,
            denied,
            exit_code,
            source,
        } = &*self.0;
        f.debug_struct("ComponentError")
            .field("component", component)
            .field("kind", kind)
            .field("message", message)
            .field("denied", denied)
            .field("exit_code", exit_code)
            .field("source", source)
            .finish()
    }
}

impl ComponentError {
    /// A new error of `kind` for `component`, with a one-line `message`.
    pub fn new(component: impl Into<String>, kind: ErrorKind, message: impl Into<String>) -> Self {
        Self(Box::new(Fields {
            component: component.into(),
            kind,
            message: message.into(),
            denied: Vec::new(),
            exit_code: None,
            source: None,
        }))
    }

    /// Attaches the underlying cause, kept as [`source`](std::error::Error::source).
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.0.source = Some(source.into());
        self
    }

    /// A [`ErrorKind::PermissionDenied`] error listing every denied import
    /// as its exact `(module, name)` pair. The message writes each as
    /// [`import_label`](crate::import_label) does (`module::name`, or the
    /// table form when that string would be ambiguous).
    /// Imports from [`WASI_MODULE`](crate::WASI_MODULE) are not listed one
    /// by one: the message counts them and says to add a `[wasi]` table,
    /// which grants them all.
    pub fn permission_denied(component: impl Into<String>, denied: Vec<(String, String)>) -> Self {
        let wasi = crate::import_path::WASI_MODULE;
        let mut labels: Vec<String> = denied
            .iter()
            .filter(|(m, _)| m != wasi)
            .map(|(m, n)| crate::import_path::import_label(m, n))
            .collect();
        let wasi_count = denied.iter().filter(|(m, _)| m == wasi).count();
        if wasi_count > 0 {
            labels.push(format!(
                "{wasi_count} from {wasi} (add a [wasi] table to the manifest to grant WASI)"
            ));
        }
        let message = format!(
            "{} import{} not permitted by the manifest: {}",
            denied.len(),
            if denied.len() == 1 { "" } else { "s" },
            labels.join(", ")
        );
        let mut err = Self::new(component, ErrorKind::PermissionDenied, message);
        err.0.denied = denied;
        err
    }

    /// An [`ErrorKind::Exit`] error: the guest called `proc_exit(code)`.
    pub fn exit(component: impl Into<String>, code: i32, message: impl Into<String>) -> Self {
        let mut err = Self::new(component, ErrorKind::Exit, message);
        err.0.exit_code = Some(code);
        err
    }

    /// The code the guest passed to `proc_exit`, for an [`ErrorKind::Exit`]
    /// error; `None` for every other kind.
    pub fn exit_code(&self) -> Option<i32> {
        self.0.exit_code
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The name of the component that failed.
    pub fn component(&self) -> &str {
        &self.0.component
    }

    /// The one-line description, without the component name.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// Every import the manifest denied, as exact `(module, name)` pairs in
    /// import order; empty unless the kind is [`ErrorKind::PermissionDenied`].
    pub fn denied_imports(&self) -> Vec<(&str, &str)> {
        self.0
            .denied
            .iter()
            .map(|(m, n)| (m.as_str(), n.as_str()))
            .collect()
    }
}

impl fmt::Display for ComponentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "component `{}`: {}", self.0.component, self.0.message)
    }
}

impl std::error::Error for ComponentError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields are boxed: a `Result` carrying an error is no larger than
    /// its `Ok` value and a pointer, on every path that succeeds.
    #[test]
    fn an_error_is_one_pointer_wide() {
        assert_eq!(
            std::mem::size_of::<ComponentError>(),
            std::mem::size_of::<usize>()
        );
        assert_eq!(std::mem::size_of::<Result<(), ComponentError>>(), 8);
        assert!(std::mem::size_of::<Result<bytes::Bytes, ComponentError>>() <= 40);
    }

    #[test]
    fn the_debug_form_names_every_field() {
        let e = ComponentError::exit("c", 3, "exited");
        let debug = format!("{e:?}");
        for field in [
            "ComponentError",
            "component: \"c\"",
            "kind: Exit",
            "message: \"exited\"",
            "denied: []",
            "exit_code: Some(3)",
            "source: None",
        ] {
            assert!(debug.contains(field), "{debug} lacks {field}");
        }
    }

    #[test]
    fn every_kind_round_trips_through_its_name() {
        for kind in ErrorKind::ALL {
            assert_eq!(kind.as_str().parse::<ErrorKind>(), Ok(kind));
            assert_eq!(kind.to_string(), format!("{kind:?}"));
        }
        assert!("memorylimit".parse::<ErrorKind>().is_err());
    }

    #[test]
    fn display_is_one_line_naming_the_component() {
        for kind in ErrorKind::ALL {
            let e = ComponentError::new("echo", kind, "it broke");
            assert_eq!(e.to_string(), "component `echo`: it broke");
            assert_eq!(e.kind(), kind);
            assert!(!e.to_string().contains('\n'));
        }
    }

    #[test]
    fn permission_denied_lists_every_import() {
        let pair = |m: &str, n: &str| (m.to_string(), n.to_string());
        let e = ComponentError::permission_denied(
            "x",
            vec![pair("env", "a"), pair("wasi", "b"), pair("a", "b::c")],
        );
        assert_eq!(
            e.denied_imports(),
            [("env", "a"), ("wasi", "b"), ("a", "b::c")]
        );
        assert_eq!(
            e.to_string(),
            r#"component `x`: 3 imports not permitted by the manifest: env::a, wasi::b, { module = "a", name = "b::c" }"#
        );
    }

    #[test]
    fn denied_wasi_imports_are_counted_once_with_the_fix() {
        let pair = |m: &str, n: &str| (m.to_string(), n.to_string());
        let w = crate::import_path::WASI_MODULE;
        let e = ComponentError::permission_denied(
            "x",
            vec![pair(w, "fd_write"), pair("env", "a"), pair(w, "proc_exit")],
        );
        assert_eq!(e.denied_imports().len(), 3);
        assert_eq!(
            e.message(),
            "3 imports not permitted by the manifest: env::a, 2 from wasi_snapshot_preview1 \
             (add a [wasi] table to the manifest to grant WASI)"
        );
    }

    #[test]
    fn source_is_kept() {
        use std::error::Error as _;
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        let e = ComponentError::new("x", ErrorKind::Load, "cannot read").with_source(io);
        assert_eq!(e.source().map(|s| s.to_string()), Some("gone".to_string()));
    }
}

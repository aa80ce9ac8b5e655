//! WASI preview1 for one actor: the context a start builds from the
//! manifest's `[wasi]` table (wasmtime-wasi's `p1`), the capped capture of
//! the guest's stdout and stderr ([`Output`]), and the signatures of the
//! functions it provides, for the import checks that run before
//! compiling. Reads the manifest; knows nothing of stores or instances.
//!
//! What the guest gets, and nothing more: the arguments and environment
//! the manifest lists (nothing inherited from the host), stdin from the
//! manifest's file or empty, stdout and stderr captured in memory, the
//! preopened directories with the permissions the manifest gives them,
//! clocks and random numbers. No sockets: TCP, UDP and name lookups are
//! refused, and preview1 can only use sockets it is handed, of which there
//! are none.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll};

use wasmtime::wasmparser;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryInputPipe;
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use crate::error::{ComponentError, ErrorKind};
use crate::manifest::{WASI_MODULE, WasiConfig};

/// What a WASI guest wrote and how it ended, as kept by the last start.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WasiOutput {
    /// The first `max_output_bytes` the guest wrote to stdout.
    pub stdout: Vec<u8>,
    /// The first `max_output_bytes` the guest wrote to stderr.
    pub stderr: Vec<u8>,
    /// Whether stdout output past `max_output_bytes` was dropped.
    pub stdout_truncated: bool,
    /// Whether stderr output past `max_output_bytes` was dropped.
    pub stderr_truncated: bool,
    /// The code the guest passed to `proc_exit`; `None` when it never
    /// called it (a `_start` that returns is a success).
    pub exit_code: Option<i32>,
}

/// One start's output, shared by the store's streams and the actor, so
/// that what the guest wrote outlives the store (a failed start keeps it).
#[derive(Debug)]
pub(crate) struct Output {
    stdout: Mutex<Stream>,
    stderr: Mutex<Stream>,
    exit_code: Mutex<Option<i32>>,
}

#[derive(Debug, Default)]
struct Stream {
    bytes: Vec<u8>,
    truncated: bool,
}

impl Output {
    /// Nothing written yet.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            stdout: Mutex::default(),
            stderr: Mutex::default(),
            exit_code: Mutex::default(),
        })
    }

    /// Records the guest's `proc_exit` code.
    pub(crate) fn set_exit_code(&self, code: i32) {
        *lock(&self.exit_code) = Some(code);
    }

    /// A copy of everything so far.
    pub(crate) fn snapshot(&self) -> WasiOutput {
        let out = lock(&self.stdout);
        let err = lock(&self.stderr);
        WasiOutput {
            stdout: out.bytes.clone(),
            stderr: err.bytes.clone(),
            stdout_truncated: out.truncated,
            stderr_truncated: err.truncated,
            exit_code: *lock(&self.exit_code),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Plain appends and assignments: a panic cannot leave them half-made.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Which stream a [`Capture`] writes.
#[derive(Debug, Clone, Copy)]
enum Which {
    Stdout,
    Stderr,
}

/// The guest's stdout or stderr: kept in memory up to `cap` bytes; past
/// that, writes succeed and are dropped (the guest is not stopped for
/// writing too much), and the stream is flagged truncated.
#[derive(Debug, Clone)]
struct Capture {
    output: Arc<Output>,
    which: Which,
    cap: usize,
}

impl Capture {
    fn append(&self, bytes: &[u8]) {
        let stream = match self.which {
            Which::Stdout => &self.output.stdout,
            Which::Stderr => &self.output.stderr,
        };
        let mut s = lock(stream);
        let room = self.cap.saturating_sub(s.bytes.len());
        let kept = bytes.len().min(room);
        s.bytes.extend_from_slice(&bytes[..kept]);
        if kept < bytes.len() {
            s.truncated = true;
        }
    }
}

/// How many bytes one write may carry: the guest's writes are split into
/// pieces of at most this, none ever refused.
const WRITE_PERMIT: usize = 64 << 10;

impl IsTerminal for Capture {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Capture {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for Capture {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.append(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(WRITE_PERMIT)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for Capture {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for Capture {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.append(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// What a start feeds the guest as stdin, read once per actor from the
/// manifest's file (`None`: empty).
pub(crate) fn read_stdin(
    component: &str,
    config: &WasiConfig,
) -> Result<bytes::Bytes, ComponentError> {
    let Some(path) = &config.stdin else {
        return Ok(bytes::Bytes::new());
    };
    std::fs::read(path).map(bytes::Bytes::from).map_err(|e| {
        ComponentError::new(
            component,
            ErrorKind::Load,
            format!("cannot read wasi.stdin {}: {e}", path.display()),
        )
        .with_source(e)
    })
}

/// The context of one start of `component` under `config`: `stdin` fed as
/// stdin, stdout and stderr captured into `output`.
///
/// # Errors
///
/// [`ErrorKind::Load`] when a preopened host directory cannot be opened.
pub(crate) fn context(
    component: &str,
    config: &WasiConfig,
    stdin: &bytes::Bytes,
    output: &Arc<Output>,
) -> Result<WasiP1Ctx, ComponentError> {
    let cap = usize::try_from(config.max_output_bytes).unwrap_or(usize::MAX);
    let capture = |which| Capture {
        output: output.clone(),
        which,
        cap,
    };
    let mut b = WasiCtxBuilder::new();
    // File I/O stays on tokio's blocking pool (wasmtime-wasi's default).
    // Not `allow_blocking_current_thread`: with it, a guest's sleep in
    // `poll_oneoff` is a `std::thread::sleep` that no timer can cut short.
    b.arg(component)
        .args(&config.args)
        .stdin(MemoryInputPipe::new(stdin.clone()))
        .stdout(capture(Which::Stdout))
        .stderr(capture(Which::Stderr))
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false);
    for (k, v) in &config.env {
        b.env(k, v);
    }
    for p in &config.preopens {
        let perms = if p.writable {
            FsPerms::ReadWrite
        } else {
            FsPerms::ReadOnly
        };
        b.preopened_dir(&p.host, &p.guest, perms).map_err(|e| {
            ComponentError::new(
                component,
                ErrorKind::Load,
                format!(
                    "cannot open wasi preopen {} (for {}): {}",
                    p.host.display(),
                    p.guest,
                    crate::runtime::classify::one_line(&e)
                ),
            )
            .with_source(e)
        })?;
    }
    Ok(b.build_p1())
}

/// A function type as wasmparser writes it: parameters, results.
pub(crate) type FuncSig = (Vec<wasmparser::ValType>, Vec<wasmparser::ValType>);

/// The signature of the WASI preview1 function `name`, if wasmtime-wasi
/// provides one of that name. Read once from a linker holding all of them.
pub(crate) fn signature(name: &str) -> Option<&'static FuncSig> {
    static SIGNATURES: OnceLock<HashMap<String, FuncSig>> = OnceLock::new();
    SIGNATURES.get_or_init(read_signatures).get(name)
}

fn read_signatures() -> HashMap<String, FuncSig> {
    struct Probe(WasiP1Ctx);
    let engine = wasmtime::Engine::default();
    let mut linker = wasmtime::Linker::<Probe>::new(&engine);
    let mut out = HashMap::new();
    if wasmtime_wasi::p1::add_to_linker_async(&mut linker, |p| &mut p.0).is_err() {
        return out;
    }
    let mut store = wasmtime::Store::new(&engine, Probe(WasiCtxBuilder::new().build_p1()));
    let convert = |t: wasmtime::ValType| match t {
        wasmtime::ValType::I32 => wasmparser::ValType::I32,
        wasmtime::ValType::I64 => wasmparser::ValType::I64,
        wasmtime::ValType::F32 => wasmparser::ValType::F32,
        wasmtime::ValType::F64 => wasmparser::ValType::F64,
        // Preview1 passes numbers only.
        _ => wasmparser::ValType::V128,
    };
    let funcs: Vec<(String, wasmtime::Func)> = linker
        .iter(&mut store)
        .filter(|(module, _, _)| *module == WASI_MODULE)
        .filter_map(|(_, name, ext)| Some((name.to_string(), ext.into_func()?)))
        .collect();
    for (name, f) in funcs {
        let ty = f.ty(&store);
        out.insert(
            name,
            (
                ty.params().map(convert).collect(),
                ty.results().map(convert).collect(),
            ),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_past_the_cap_is_dropped_and_flagged() {
        let output = Output::new();
        let mut c = Capture {
            output: output.clone(),
            which: Which::Stdout,
            cap: 5,
        };
        OutputStream::write(&mut c, bytes::Bytes::from_static(b"abc")).unwrap();
        assert_eq!(output.snapshot().stdout, b"abc");
        assert!(!output.snapshot().stdout_truncated);
        OutputStream::write(&mut c, bytes::Bytes::from_static(b"defg")).unwrap();
        let s = output.snapshot();
        assert_eq!(s.stdout, b"abcde");
        assert!(s.stdout_truncated);
        assert!(s.stderr.is_empty() && !s.stderr_truncated);
        assert_eq!(c.check_write().unwrap(), WRITE_PERMIT);
    }

    /// The tokio-side stream (`StdoutStream::async_stream`, what
    /// wasmtime-wasi's other adapters write through) keeps the same cap and
    /// accepts every byte.
    #[test]
    fn the_async_stream_has_the_same_cap() {
        use tokio::io::AsyncWriteExt;
        let output = Output::new();
        let c = Capture {
            output: output.clone(),
            which: Which::Stderr,
            cap: 4,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut w = Box::into_pin(c.async_stream());
            assert_eq!(w.write(b"abc").await.unwrap(), 3);
            assert_eq!(w.write(b"defg").await.unwrap(), 4, "dropped, not refused");
            w.flush().await.unwrap();
            w.shutdown().await.unwrap();
        });
        let s = output.snapshot();
        assert_eq!(s.stderr, b"abcd");
        assert!(s.stderr_truncated);
        assert!(s.stdout.is_empty());
        assert!(!c.is_terminal());
    }

    #[test]
    fn the_signatures_are_preview1s() {
        use wasmparser::ValType::{I32, I64};
        assert_eq!(signature("fd_write"), Some(&(vec![I32; 4], vec![I32])));
        assert_eq!(signature("proc_exit"), Some(&(vec![I32], vec![])));
        assert_eq!(
            signature("clock_time_get"),
            Some(&(vec![I32, I64, I32], vec![I32]))
        );
        assert_eq!(signature("no_such_function"), None);
    }
}

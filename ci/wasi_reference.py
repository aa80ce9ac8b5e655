#!/usr/bin/env python3
"""Compare our WASI preview1 host with a reference one, case by case.

What it proves: for each case below (a guest module from guests/, its argv,
environment, stdin bytes and preopened directories, read-only or writable),
`component-actor run MODULE --manifest M.toml --json` gives the guest exactly
what wasmtime's own WASI implementation (the PyPI `wasmtime` package, used
here as the reference host) gives it, as far as the guest can tell:

  * the exit code (proc_exit's code; a `_start` that returns counts as 0),
  * every byte the guest wrote to stdout and to stderr,
  * the tree of every preopened directory after the run (files the guest
    wrote to a writable preopen, and a read-only one left untouched),
  * and the files the case expects to exist afterwards.

Invoke cases do the same for a reactor's exports: `component-actor run
MODULE --manifest M.toml --invoke NAME ARGS --json` (no [wasi] table: the
reactors import nothing) against wasmtime-py instantiating the module with
no imports, calling `_initialize` and then the export. Compared: whether the
call returned, its results (type and value each), and for a trap the trap's
reason (the `wasm trap: ...` text).

Each case also carries a few expectations of its own (lines stdout must
hold, the exit code), checked against both hosts, so a reference host that
was set up wrong (a read-only preopen that is writable, say) cannot make
two wrong answers agree.

Every run gets a fresh copy of the case's directories, made in a temp dir.

Output: one line per case, `ok   NAME` or `DIFF NAME: FIELD: reference=...
ours=...` (or `FAIL NAME: ...` for an unmet expectation); exit status 1 if
any case differs or fails.

Usage (from the repo root; ci/wasi-reference sets up the venv and builds):
  python3 ci/wasi_reference.py [CASE-NAME-SUBSTRING ...]
Environment:
  COMPONENT_ACTOR    our CLI (default target/release/component-actor)
  WASI_REFERENCE_SELFTEST=1
                     "ours" is the reference host again, wrapped in the
                     same JSON document the CLI writes; every case must then
                     be ok, and the comparison is checked to catch a
                     perturbed copy of each field.
  WASI_REFERENCE_VERBOSE=1
                     also print each case's reference stdout and exit code.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import inspect
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path
from typing import Callable

import wasmtime

ROOT = Path(__file__).resolve().parent.parent
GUESTS = ROOT / "guests"
MAX_CALL_DURATION_MS = 5000
MAX_MEMORY_BYTES = 64 * 1024 * 1024
MAX_OUTPUT_BYTES = 1024 * 1024


@dataclasses.dataclass
class Preopen:
    """A host directory made for the case, seen by the guest at `guest`.

    `files` maps a relative path to its bytes; `symlinks` maps a relative
    path to the link's target, written as is (relative to the link, or
    absolute). `outside` files are made beside the preopen, never in it,
    as `<case dir>/outside/<path>`: what a symlink may point at.
    """

    guest: str
    writable: bool
    files: dict[str, bytes] = dataclasses.field(default_factory=dict)
    symlinks: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def host_name(self) -> str:
        return self.guest.strip("/").replace("/", "_") or "root"


@dataclasses.dataclass
class Case:
    name: str
    module: str  # file name under guests/
    args: list[str] = dataclasses.field(default_factory=list)
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    stdin: bytes = b""
    preopens: list[Preopen] = dataclasses.field(default_factory=list)
    outside: dict[str, bytes] = dataclasses.field(default_factory=dict)
    # Guest paths that must exist after the run (in a preopen).
    expect_files: list[str] = dataclasses.field(default_factory=list)
    # Lines stdout must contain, and the exit code, on both hosts.
    expect_lines: list[str] = dataclasses.field(default_factory=list)
    expect_exit: int | None = 0
    # stderr exactly, when given; guest path -> exact bytes afterwards.
    expect_stderr: str | None = None
    # More checks of the outcome: problems found, as text (none: fine).
    check: Callable[["Outcome"], list[str]] | None = None

    @property
    def component(self) -> str:
        return Path(self.module).stem


@dataclasses.dataclass
class Outcome:
    """What the guest did, as far as a host can see."""

    exit_code: int  # 0 when _start returned
    stdout: str
    stderr: str
    trees: dict[str, dict[str, str]]  # guest dir -> relative path -> content
    note: str = ""  # anything odd about the run (truncation, a trap)


@dataclasses.dataclass
class InvokeCase:
    """A reactor's export called once after `_initialize`, on both hosts."""

    name: str
    module: str  # file name under guests/
    export: str
    args: list[int] = dataclasses.field(default_factory=list)
    # On both hosts: the results as (type, value), or a trap with this reason.
    expect_results: list[tuple[str, int]] | None = None
    expect_trap: str | None = None

    @property
    def component(self) -> str:
        return Path(self.module).stem


@dataclasses.dataclass
class InvokeOutcome:
    """What a call of an export gave, as far as a host can see."""

    ok: bool
    results: list[list]  # [type, value] each
    error: str  # "" when ok; "trap: REASON" for a trap, else "KIND: message"
    note: str = ""  # anything odd about the run (a failed start, say)


SECRET = b"outside the sandbox\n"


def zlib_input(size: int) -> bytes:
    """Text that compresses somewhat (not a single repeated byte), `size` bytes."""
    lines = b"".join(b"%06d the quick brown fox jumps over the lazy dog %d\n" % (i, i * i % 977)
                     for i in range(size // 40 + 1))
    return lines[:size]


def checksum_table() -> bytes:
    """reactor_checksum's 4 KiB table, as its constructor fills it."""
    x, out = 12345, bytearray()
    for _ in range(4096):
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
        out.append((x >> 16) & 0xFF)
    return bytes(out)


def i32(v: int) -> int:
    return v - (1 << 32) if v >= 1 << 31 else v


NESTED_JSON = (
    b'{\n  "name": "component-actor",\n  "version": [1, 2, 3],\n'
    b'  "nested": {"a": {"b": {"c": [true, false, null, {"d": "\\u00e9\\n\\t\\"q\\""}]}}},\n'
    b'  "numbers": [0, -1, 2.5, 1e100, -3.25e-7, 12345678901234],\n'
    b'  "empty": {"o": {}, "a": []},\n  "unicode": "h\xc3\xa9llo \xe2\x9c\x93"\n}\n'
)
ZLIB_100K = zlib_input(100 * 1024)
ZLIB_9 = zlib_input(20000)


def zlib_check(data: bytes, out_file: str | None = None) -> Callable[["Outcome"], list[str]]:
    """zlib_cmd's line against Python's zlib: the input's length and checksums,
    and (with `out_file`, a guest path) that the file written inflates back to
    `data` and is as long as the line says. Compressed bytes themselves may
    differ between zlib versions, so they are compared only between hosts."""
    def check(out: "Outcome") -> list[str]:
        line = next((l for l in out.stdout.splitlines() if l.startswith("in=")), "")
        fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
        want = {"in": str(len(data)), "crc32": "%08x" % zlib.crc32(data),
                "adler32": "%08x" % zlib.adler32(data), "roundtrip": "ok"}
        problems = [f"{k}={fields.get(k)}, expected {v}" for k, v in want.items() if fields.get(k) != v]
        if out_file:
            guest, _, rel = out_file.rpartition("/")
            content = out.trees.get(guest, {}).get(rel)
            try:
                raw = ast.literal_eval(content) if content and content.startswith("b") else None
                if raw is None or zlib.decompress(raw) != data:
                    problems.append(f"{out_file} does not inflate to the input")
                elif str(len(raw)) != fields.get("deflated"):
                    problems.append(f"{out_file} has {len(raw)} bytes, deflated={fields.get('deflated')}")
            except (zlib.error, ValueError, SyntaxError) as e:
                problems.append(f"{out_file}: {e}")
        return problems
    return check

CASES = [
    Case(
        "echo-no-args",
        "wasi_echo.wasm",
        expect_lines=["argc=1", "argv[0]=wasi_echo", "GREETING unset",
                      "stdin bytes=0 fnv1a=811c9dc5", "/in unavailable",
                      "/out unavailable", "exit=0"],
    ),
    Case(
        "echo-args-env",
        "wasi_echo.wasm",
        args=["one", "two words", "", "ünï"],
        env={"GREETING": "hello, world", "OTHER": "x=y"},
        expect_lines=["argc=5", "argv[2]=two words", "argv[3]=", "argv[4]=ünï",
                      "GREETING=hello, world"],
    ),
    Case(
        "echo-stdin",
        "wasi_echo.wasm",
        stdin=b"line one\nline two\n" + bytes(range(256)) * 40,
        expect_lines=["stdin bytes=10258 fnv1a="],
    ),
    Case(
        "echo-exit-3",
        "wasi_echo.wasm",
        env={"EXIT_CODE": "3"},
        expect_lines=["exit=3"],
        expect_exit=3,
    ),
    Case(
        "echo-preopens",
        "wasi_echo.wasm",
        args=["--report"],
        env={"GREETING": "hi"},
        stdin=b"some input on stdin\n",
        preopens=[
            Preopen("/in", writable=False, files={"input.txt": b"the input file\n" * 3}),
            Preopen("/out", writable=True),
        ],
        expect_files=["/out/result.txt"],
        expect_lines=["/in/input.txt bytes=45 fnv1a=", "/out/result.txt written bytes="],
    ),
    Case(
        "echo-out-read-only",
        "wasi_echo.wasm",
        preopens=[Preopen("/out", writable=False)],
        expect_lines=["/out/result.txt: "],  # refused, with some errno
    ),
    Case(
        "fs-probe",
        "wasi_fs_probe.wasm",
        preopens=[
            Preopen(
                "/data",
                writable=False,
                files={"existing.txt": b"existing file\n"},
                symlinks={"link_out": "../outside/secret.txt"},
            )
        ],
        outside={"secret.txt": SECRET},
        expect_files=["/data/existing.txt"],
        expect_lines=[
            "open /data/../../etc/passwd: failed ",
            "open /etc/passwd: failed ",
            "follow /data/link_out: failed ",
            "create /data/new.txt: failed ",
            "unlink /data/existing.txt: failed ",
            "read /data/existing.txt: ok bytes=14 ",
        ],
    ),
    Case(
        "cjson-ok",
        "cjson_cmd.wasm",
        stdin=NESTED_JSON,
        expect_lines=[
            '{"name":"component-actor","version":[1,2,3],"nested":{"a":{"b":{"c":'
            '[true,false,null,{"d":"\u00e9\\n\\t\\"q\\""}]}}},"numbers":[0,-1,2.5,1e+100,'
            '-3.25e-07,12345678901234],"empty":{"o":{},"a":[]},"unicode":"h\u00e9llo \u2713"}',
            "items=6",
        ],
    ),
    Case(
        "cjson-parse-error",
        "cjson_cmd.wasm",
        stdin=b'{"a": [1, 2,, 3]}',
        expect_stderr="parse error near byte 12\n",
        expect_exit=2,
    ),
    Case(
        "zlib-level-9-out",
        "zlib_cmd.wasm",
        args=["9"],
        env={"ZLIB_OUT": "/out/data.z"},
        stdin=ZLIB_9,
        preopens=[Preopen("/out", writable=True)],
        expect_files=["/out/data.z"],
        expect_lines=["in=20000 deflated=", "wrote /out/data.z bytes="],
        check=zlib_check(ZLIB_9, "/out/data.z"),
    ),
    Case(
        "zlib-100k-stdin",
        "zlib_cmd.wasm",
        stdin=ZLIB_100K,
        expect_lines=["in=102400 deflated="],
        check=zlib_check(ZLIB_100K),
    ),
    InvokeCase("reactor-initialized", "reactor_checksum.wasm", "initialized",
               expect_results=[("i32", 1)]),
    InvokeCase("reactor-fib-40", "reactor_checksum.wasm", "fib", [40],
               expect_results=[("i64", 102334155)]),
    InvokeCase("reactor-adler32-0-4096", "reactor_checksum.wasm", "adler32_of_range", [0, 4096],
               expect_results=[("i32", i32(zlib.adler32(checksum_table())))]),
    InvokeCase("reactor-adler32-100-50", "reactor_checksum.wasm", "adler32_of_range", [100, 50],
               expect_results=[("i32", i32(zlib.adler32(checksum_table()[100:150])))]),
    InvokeCase("reactor-divide-by-0", "reactor_checksum.wasm", "divide", [1, 0],
               expect_trap="wasm `unreachable` instruction executed"),
    InvokeCase("zlib-reactor-compress-bound", "zlib_reactor.wasm", "zlib_compress_bound", [100000],
               # compressBound: n + n/4096 + n/16384 + n/2^25 + 13
               expect_results=[("i32", 100000 + 24 + 6 + 0 + 13)]),
]


# --------------------------------------------------------------- set-up

def lay_out(case: Case, base: Path) -> dict[str, Path]:
    """Makes the case's directories under `base`; returns guest -> host dir."""
    dirs = {}
    outside = base / "outside"
    outside.mkdir(parents=True)
    for rel, data in case.outside.items():
        (outside / rel).write_bytes(data)
    for p in case.preopens:
        host = base / p.host_name
        host.mkdir(parents=True)
        for rel, data in p.files.items():
            (host / rel).parent.mkdir(parents=True, exist_ok=True)
            (host / rel).write_bytes(data)
        for rel, target in p.symlinks.items():
            os.symlink(target, host / rel)
        dirs[p.guest] = host
    (base / "stdin.bin").write_bytes(case.stdin)
    return dirs


def snapshot(dirs: dict[str, Path]) -> dict[str, dict[str, str]]:
    """Each preopen's tree: relative path -> a printable form of its content."""
    trees = {}
    for guest, host in sorted(dirs.items()):
        tree = {}
        for dirpath, dirnames, filenames in os.walk(host):
            for name in sorted(dirnames + filenames):
                path = Path(dirpath) / name
                rel = str(path.relative_to(host))
                if path.is_symlink():
                    tree[rel] = "symlink -> " + os.readlink(path)
                elif path.is_dir():
                    tree[rel] = "dir"
                else:
                    tree[rel] = repr(path.read_bytes())
        trees[guest] = tree
    return trees


# --------------------------------------------------------- the reference

def preopen(config: wasmtime.WasiConfig, host: str, guest: str, writable: bool) -> None:
    """`preopen_dir` read-only or writable, across the Python API's versions.

    wasmtime-py up to 2x: preopen_dir(path, guest_path, fs_mutable: bool);
    later: preopen_dir(path, guest_path, dir_perms, file_perms).
    """
    params = inspect.signature(config.preopen_dir).parameters
    if "dir_perms" in params:
        dir_perms = wasmtime.DirPerms.READ_WRITE if writable else wasmtime.DirPerms.READ_ONLY
        file_perms = wasmtime.FilePerms.READ_WRITE if writable else wasmtime.FilePerms.READ_ONLY
        config.preopen_dir(host, guest, dir_perms, file_perms)
    else:
        config.preopen_dir(host, guest, writable)


def run_reference(case: Case, base: Path) -> Outcome:
    """Runs the case's `_start` once under wasmtime-py's WASI."""
    dirs = lay_out(case, base)
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    store.set_limits(memory_size=MAX_MEMORY_BYTES)
    config = wasmtime.WasiConfig()
    config.argv = [case.component, *case.args]
    config.env = list(case.env.items())
    config.stdin_file = str(base / "stdin.bin")
    config.stdout_file = str(base / "stdout.bin")
    config.stderr_file = str(base / "stderr.bin")
    for p in case.preopens:
        preopen(config, str(dirs[p.guest]), p.guest, p.writable)
    store.set_wasi(config)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    module = wasmtime.Module.from_file(engine, str(GUESTS / case.module))
    instance = linker.instantiate(store, module)
    note = ""
    try:
        instance.exports(store)["_start"](store)
        code = 0
    except wasmtime.ExitTrap as e:
        code = e.code
    except wasmtime.WasmtimeError as e:  # a trap: not expected of any case
        code = -1
        note = f"trap: {str(e).splitlines()[0]}"
    del instance, store  # closes the WASI files before they are read
    read = lambda name: (base / name).read_bytes().decode("utf-8", errors="replace")
    return Outcome(code, read("stdout.bin"), read("stderr.bin"), snapshot(dirs), note)


# ---------------------------------------------------------------- ours

def toml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)  # a JSON string is a TOML basic string


def manifest(case: Case) -> str:
    env = ", ".join(f"{toml_str(k)} = {toml_str(v)}" for k, v in case.env.items())
    preopens = ", ".join(
        "{ host = %s, guest = %s, writable = %s }"
        % (toml_str(p.host_name), toml_str(p.guest), "true" if p.writable else "false")
        for p in case.preopens
    )
    return "\n".join([
        "[component]",
        f"name = {toml_str(case.component)}",
        "[limits]",
        f"max_call_duration_ms = {MAX_CALL_DURATION_MS}",
        f"max_memory_bytes = {MAX_MEMORY_BYTES}",
        'max_fuel = "none"',
        "[wasi]",
        "args = [%s]" % ", ".join(toml_str(a) for a in case.args),
        "env = { %s }" % env if env else "env = {}",
        'stdin = "stdin.bin"',
        f"preopens = [{preopens}]",
        f"max_output_bytes = {MAX_OUTPUT_BYTES}",
        "",
    ])


def doc_of_reference(case: Case, base: Path) -> tuple[dict, dict[str, Path]]:
    """Self-test: the reference's outcome as the CLI's `run --json` document."""
    out = run_reference(case, base)
    exited = out.exit_code != 0
    error = {"component": case.component, "kind": "Exit",
             "message": f"exit {out.exit_code}", "denied": [], "denied_imports": []}
    doc = {
        "started": not exited,
        "start": {"ok": not exited, "error": error if exited else None},
        "wasi": {"exit_code": out.exit_code if exited else None,
                 "stdout": out.stdout, "stderr": out.stderr,
                 "stdout_truncated": False, "stderr_truncated": False},
    }
    return doc, {p.guest: base / p.host_name for p in case.preopens}


def run_ours(case: Case, base: Path) -> Outcome:
    """Runs the case under `component-actor run --json` and reads the document."""
    if os.environ.get("WASI_REFERENCE_SELFTEST"):
        doc, dirs = doc_of_reference(case, base)
    else:
        dirs = lay_out(case, base)
        (base / "M.toml").write_text(manifest(case))
        cli = os.environ.get("COMPONENT_ACTOR", str(ROOT / "target/release/component-actor"))
        cmd = [cli, "run", str(GUESTS / case.module), "--manifest", str(base / "M.toml"), "--json"]
        proc = subprocess.run(cmd, capture_output=True, timeout=120)
        try:
            doc = json.loads(proc.stdout)
        except ValueError:
            err = proc.stderr.decode(errors="replace").strip().splitlines()
            raise RuntimeError(f"no JSON from the CLI (exit {proc.returncode}): "
                               + (err[-1] if err else "no stderr")) from None
    wasi = doc.get("wasi")
    if not isinstance(wasi, dict):
        raise RuntimeError('the CLI\'s JSON has no "wasi" object')
    code = wasi.get("exit_code")
    code = 0 if code is None else code
    notes = []
    # The contract: a nonzero exit fails start with kind "Exit"; 0 starts.
    started = doc.get("started")
    error = (doc.get("start") or {}).get("error") or {}
    if code != 0 and (started is not False or error.get("kind") != "Exit"):
        notes.append(f"exit {code} but started={started} start.error.kind={error.get('kind')}")
    if code == 0 and started is not True:
        notes.append(f"exit 0 but started={started} start.error={error or None}")
    for stream in ("stdout", "stderr"):
        if wasi.get(f"{stream}_truncated"):
            notes.append(f"{stream} truncated")
    return Outcome(code, wasi.get("stdout", ""), wasi.get("stderr", ""), snapshot(dirs),
                   "; ".join(notes))


# ------------------------------------------------- invoking reactors

def trap_reason(message: str) -> str:
    """The `wasm trap: REASON` part of a trap's message (either host's)."""
    for line in message.splitlines():
        if "wasm trap: " in line:
            return line.split("wasm trap: ", 1)[1].strip()
    return message.strip().splitlines()[0] if message.strip() else ""


def invoke_reference(case: InvokeCase) -> InvokeOutcome:
    """Instantiates the module with no imports, runs `_initialize`, calls the export."""
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    store.set_limits(memory_size=MAX_MEMORY_BYTES)
    module = wasmtime.Module.from_file(engine, str(GUESTS / case.module))
    instance = wasmtime.Linker(engine).instantiate(store, module)
    exports = instance.exports(store)
    if "_initialize" in exports:
        exports["_initialize"](store)
    func = exports[case.export]
    ftype = func.type(store)
    params = [str(t) for t in ftype.params]
    if params != ["i32" if -(1 << 31) <= a < (1 << 31) else "i64" for a in case.args]:
        raise RuntimeError(f"{case.export} takes {params}; the case's arguments {case.args} do not fit")
    try:
        got = func(store, *case.args)
    except wasmtime.Trap as e:
        return InvokeOutcome(False, [], "trap: " + trap_reason(str(e)))
    except wasmtime.WasmtimeError as e:
        return InvokeOutcome(False, [], "error: " + str(e).splitlines()[0])
    types = [str(t) for t in ftype.results]
    values = [] if got is None else list(got) if isinstance(got, tuple) else [got]
    return InvokeOutcome(True, [[t, v] for t, v in zip(types, values)], "")


def invoke_manifest(case: InvokeCase) -> str:
    """Limits only: the reactors import nothing, so no [wasi] table."""
    return "\n".join([
        "[component]",
        f"name = {toml_str(case.component)}",
        "[limits]",
        f"max_call_duration_ms = {MAX_CALL_DURATION_MS}",
        f"max_memory_bytes = {MAX_MEMORY_BYTES}",
        'max_fuel = "none"',
        "",
    ])


def invoke_doc_of_reference(case: InvokeCase) -> dict:
    """Self-test: the reference's call as the CLI's `run --invoke --json` document."""
    out = invoke_reference(case)
    kind, _, reason = out.error.partition(": ")
    error = None if out.ok else {
        "component": case.component, "kind": "Trap" if kind == "trap" else "Other",
        "message": f"`{case.export}` trapped: wasm trap: {reason}" if kind == "trap" else reason,
        "denied": [], "denied_imports": [], "exit_code": None}
    return {
        "started": True,
        "start": {"ok": True, "error": None},
        "wasi": None,
        "invoke": {"name": case.export,
                   "args": [{"type": "i32" if -(1 << 31) <= a < (1 << 31) else "i64", "value": a}
                            for a in case.args],
                   "ok": out.ok, "results": [{"type": t, "value": v} for t, v in out.results],
                   "error": error},
    }


def invoke_ours(case: InvokeCase, base: Path) -> InvokeOutcome:
    """Runs `component-actor run MODULE --invoke NAME ARGS --json`, reads "invoke"."""
    if os.environ.get("WASI_REFERENCE_SELFTEST"):
        doc = invoke_doc_of_reference(case)
    else:
        base.mkdir(parents=True)
        (base / "M.toml").write_text(invoke_manifest(case))
        cli = os.environ.get("COMPONENT_ACTOR", str(ROOT / "target/release/component-actor"))
        cmd = [cli, "run", str(GUESTS / case.module), "--manifest", str(base / "M.toml"),
               "--invoke", case.export, *map(str, case.args), "--json"]
        proc = subprocess.run(cmd, capture_output=True, timeout=120)
        try:
            doc = json.loads(proc.stdout)
        except ValueError:
            err = proc.stderr.decode(errors="replace").strip().splitlines()
            raise RuntimeError(f"no JSON from the CLI (exit {proc.returncode}): "
                               + (err[-1] if err else "no stderr")) from None
    inv = doc.get("invoke")
    if not isinstance(inv, dict):
        start_error = (doc.get("start") or {}).get("error")
        raise RuntimeError(f'the CLI\'s JSON has no "invoke" object (start error: {short(start_error)})')
    notes = []
    if doc.get("started") is not True:
        notes.append(f"started={doc.get('started')}")
    if inv.get("name") != case.export:
        notes.append(f"invoke.name={inv.get('name')}")
    got_args = [a.get("value") for a in inv.get("args") or []]
    if got_args != case.args:
        notes.append(f"invoke.args={got_args}")
    ok = inv.get("ok") is True
    err = inv.get("error") or {}
    if ok:
        error = ""
        if err:
            notes.append(f"ok with an error {short(err)}")
    elif err.get("kind") == "Trap":
        error = "trap: " + trap_reason(err.get("message", ""))
    else:
        error = f"{err.get('kind')}: {err.get('message')}"
    results = [[r.get("type"), r.get("value")] for r in inv.get("results") or []]
    return InvokeOutcome(ok, results, error, "; ".join(notes))


def invoke_compare(ref: InvokeOutcome, ours: InvokeOutcome) -> list[str]:
    return [f"{f}: reference={short(getattr(ref, f))} ours={short(getattr(ours, f))}"
            for f in ("ok", "results", "error", "note") if getattr(ref, f) != getattr(ours, f)]


def invoke_unmet(case: InvokeCase, who: str, out: InvokeOutcome) -> list[str]:
    misses = []
    if case.expect_trap is not None:
        if out.ok or out.error != "trap: " + case.expect_trap:
            misses.append(f"{who}: {'returned' if out.ok else out.error}, expected a trap "
                          f"({case.expect_trap})")
    elif case.expect_results is not None:
        want = [list(r) for r in case.expect_results]
        if not out.ok or out.results != want:
            misses.append(f"{who}: {out.results if out.ok else out.error}, expected {want}")
    return misses


def invoke_self_check(ref: InvokeOutcome) -> None:
    """Self-test: each perturbed field of a copy must be reported."""
    perturb = {
        "ok": lambda o: setattr(o, "ok", not o.ok),
        "results": lambda o: o.results.append(["i32", 0]),
        "value": lambda o: o.results and o.results[0].__setitem__(1, o.results[0][1] + 1),
        "error": lambda o: setattr(o, "error", o.error + "x"),
    }
    for name, change in perturb.items():
        other = copy.deepcopy(ref)
        change(other)
        if other == ref:  # "value" with no results
            continue
        assert invoke_compare(ref, other), f"selftest: a changed {name} went unnoticed"


def run_invoke_case(case: InvokeCase, tmp: Path, selftest: bool, verbose: bool) -> list[str]:
    """The lines to print for an invoke case (empty: ok)."""
    ref = invoke_reference(case)
    if verbose:
        print(f"---- {case.name}: reference {case.export}{tuple(case.args)} -> "
              f"{ref.results if ref.ok else ref.error}")
    problems = invoke_unmet(case, "reference", ref)
    if problems:
        return [f"FAIL {case.name}: " + "; ".join(problems)]
    if selftest:
        invoke_self_check(ref)
    try:
        ours = invoke_ours(case, tmp / "ours")
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        return [f"DIFF {case.name}: ours: {e}"]
    return [f"DIFF {case.name}: {d}"
            for d in invoke_compare(ref, ours) + invoke_unmet(case, "ours", ours)]


# ---------------------------------------------------------- comparison

def short(v: object, limit: int = 200) -> str:
    s = json.dumps(v, ensure_ascii=False)
    return s if len(s) <= limit else s[:limit] + "..."


def compare(case: Case, ref: Outcome, ours: Outcome) -> list[str]:
    """Every difference between the two outcomes, as `FIELD: reference=... ours=...`."""
    diffs = []
    for field in ("exit_code", "stdout", "stderr", "note"):
        a, b = getattr(ref, field), getattr(ours, field)
        if a != b:
            diffs.append(f"{field}: reference={short(a)} ours={short(b)}")
    for guest in sorted(set(ref.trees) | set(ours.trees)):
        a, b = ref.trees.get(guest, {}), ours.trees.get(guest, {})
        for rel in sorted(set(a) | set(b)):
            if a.get(rel) != b.get(rel):
                diffs.append(f"{guest}/{rel}: reference={short(a.get(rel))} ours={short(b.get(rel))}")
    return diffs


def unmet(case: Case, who: str, out: Outcome) -> list[str]:
    """The case's own expectations that `out` misses."""
    misses = []
    lines = out.stdout.splitlines()
    for want in case.expect_lines:
        if not any(line == want or line.startswith(want) for line in lines):
            misses.append(f"{who}: no stdout line {short(want)}")
    if case.expect_exit is not None and out.exit_code != case.expect_exit:
        misses.append(f"{who}: exit {out.exit_code}, expected {case.expect_exit}")
    for path in case.expect_files:
        guest, _, rel = path.rpartition("/")
        if rel not in out.trees.get(guest, {}):
            misses.append(f"{who}: {path} missing")
    if case.expect_stderr is not None and out.stderr != case.expect_stderr:
        misses.append(f"{who}: stderr {short(out.stderr)}, expected {short(case.expect_stderr)}")
    if case.check:
        misses.extend(f"{who}: {p}" for p in case.check(out))
    return misses


def self_check_compare(case: Case, ref: Outcome) -> None:
    """Self-test: each perturbed field of a copy must be reported."""
    perturb = {
        "exit_code": lambda o: setattr(o, "exit_code", o.exit_code + 1),
        "stdout": lambda o: setattr(o, "stdout", o.stdout + "x"),
        "stderr": lambda o: setattr(o, "stderr", o.stderr + "x"),
        "tree": lambda o: o.trees.setdefault("/extra", {}).update({"f": "b''"}),
    }
    for name, change in perturb.items():
        other = copy.deepcopy(ref)
        change(other)
        assert compare(case, ref, other), f"selftest: a changed {name} went unnoticed"


def main(argv: list[str]) -> int:
    wanted = argv[1:]
    cases = [c for c in CASES if not wanted or any(w in c.name for w in wanted)]
    if not cases:
        print(f"no case matches {wanted}", file=sys.stderr)
        return 2
    selftest = bool(os.environ.get("WASI_REFERENCE_SELFTEST"))
    verbose = bool(os.environ.get("WASI_REFERENCE_VERBOSE"))
    bad = 0
    for case in cases:
        with tempfile.TemporaryDirectory(prefix=f"wasi-ref-{case.name}-") as tmp:
            if isinstance(case, InvokeCase):
                lines = run_invoke_case(case, Path(tmp), selftest, verbose)
                bad += bool(lines)
                print("\n".join(lines) if lines else f"ok   {case.name}")
                continue
            ref = run_reference(case, Path(tmp) / "reference")
            if verbose:
                print(f"---- {case.name}: reference exit {ref.exit_code}")
                print(ref.stdout, end="")
                print(f"---- stderr: {ref.stderr!r}")
            problems = unmet(case, "reference", ref)
            if problems:
                bad += 1
                print(f"FAIL {case.name}: " + "; ".join(problems))
                continue
            if selftest:
                self_check_compare(case, ref)
            try:
                ours = run_ours(case, Path(tmp) / "ours")
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
                bad += 1
                print(f"DIFF {case.name}: ours: {e}")
                continue
            diffs = compare(case, ref, ours) + unmet(case, "ours", ours)
            if diffs:
                bad += 1
                for d in diffs:
                    print(f"DIFF {case.name}: {d}")
            else:
                print(f"ok   {case.name}")
    print(f"{len(cases) - bad} passed, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

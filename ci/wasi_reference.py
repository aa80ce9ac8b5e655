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

import copy
import dataclasses
import inspect
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

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


SECRET = b"outside the sandbox\n"

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

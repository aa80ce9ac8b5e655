#!/usr/bin/env python3
"""Checks the guests that ci/wasi_reference.py does not compare: the reactors
(reactor_checksum.wasm, zlib_reactor.wasm) and the sleeper (wasi_sleep.wasm),
under the PyPI
`wasmtime` package as the reference host. Prints what it saw; exits 1 on a
mismatch. Needs `pip install wasmtime`. Takes about 10 s (the sleep).

  python3 guests/check_reference.py [--no-sleep]
"""

import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

import wasmtime

HERE = Path(__file__).resolve().parent


def lcg_table(n=4096):
    """The bytes reactor_checksum's constructor fills its table with."""
    x, out = 12345, bytearray()
    for _ in range(n):
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
        out.append((x >> 16) & 0xFF)
    return bytes(out)


def as_i32(v):
    return v - (1 << 32) if v >= 1 << 31 else v


def check(label, got, want):
    ok = got == want
    print(f"{'ok  ' if ok else 'BAD '} {label}: {got!r}" + ("" if ok else f" (expected {want!r})"))
    return ok


def reactor():
    engine = wasmtime.Engine()
    module = wasmtime.Module.from_file(engine, str(HERE / "reactor_checksum.wasm"))
    print("reactor imports:", [(i.module, i.name) for i in module.imports])
    print("reactor exports:", [e.name for e in module.exports])
    good = check("reactor imports nothing", len(module.imports), 0)
    table = lcg_table()

    # Without _initialize: the constructor never ran.
    store = wasmtime.Store(engine)
    ex = wasmtime.Instance(store, module, []).exports(store)
    good &= check("initialized() before _initialize", ex["initialized"](store), 0)
    good &= check("adler32 of zeros before _initialize",
                  ex["adler32_of_range"](store, 0, 100), as_i32(zlib.adler32(bytes(100))))

    store = wasmtime.Store(engine)
    ex = wasmtime.Instance(store, module, []).exports(store)
    ex["_initialize"](store)
    good &= check("initialized()", ex["initialized"](store), 1)
    for start, length in [(0, 0), (0, 4096), (100, 1000), (4000, 96)]:
        good &= check(f"adler32_of_range({start}, {length})",
                      ex["adler32_of_range"](store, start, length),
                      as_i32(zlib.adler32(table[start:start + length])))
    good &= check("adler32_of_range(4000, 97)", ex["adler32_of_range"](store, 4000, 97), -1)
    good &= check("fib(10)", ex["fib"](store, 10), 55)
    good &= check("fib(90)", ex["fib"](store, 90), 2880067194370816120)
    good &= check("divide(7, 2)", ex["divide"](store, 7, 2), 3)
    good &= check("divide(-9, 3)", ex["divide"](store, -9, 3), -3)
    try:
        ex["divide"](store, 1, 0)
        good &= check("divide(1, 0) traps", "returned", "trap")
    except wasmtime.Trap as e:
        good &= check("divide(1, 0) traps", e.trap_code, wasmtime.TrapCode.UNREACHABLE)

    # spin() under an epoch deadline of one tick, ticked after 100 ms.
    config = wasmtime.Config()
    config.epoch_interruption = True
    engine = wasmtime.Engine(config)
    module = wasmtime.Module.from_file(engine, str(HERE / "reactor_checksum.wasm"))
    store = wasmtime.Store(engine)
    store.set_epoch_deadline(1)
    ex = wasmtime.Instance(store, module, []).exports(store)
    threading.Timer(0.1, engine.increment_epoch).start()
    t = time.monotonic()
    try:
        ex["spin"](store)
        good &= check("spin() interrupted", "returned", "trap")
    except wasmtime.Trap as e:
        good &= check("spin() interrupted", e.trap_code, wasmtime.TrapCode.INTERRUPT)
    print(f"     spin() ran {time.monotonic() - t:.3f} s")
    return good


def zlib_reactor():
    """zlib_reactor against CPython's zlib: crc32/adler32 equal, and each side
    inflates what the other deflated."""
    path = HERE / "zlib_reactor.wasm"
    if not path.exists():
        print("skip zlib_reactor.wasm (not built)")
        return True
    engine = wasmtime.Engine()
    module = wasmtime.Module.from_file(engine, str(path))
    good = check("zlib_reactor imports nothing", [(i.module, i.name) for i in module.imports], [])
    store = wasmtime.Store(engine)
    ex = wasmtime.Instance(store, module, []).exports(store)
    ex["_initialize"](store)
    mem = ex["memory"]
    version_ptr = ex["zlib_version"](store)
    version = bytes(mem.read(store, version_ptr, version_ptr + 16)).split(b"\0")[0].decode()
    print(f"     zlib_version(): {version}")
    data = b"".join(b"line %d of some compressible text\n" % i for i in range(2000))
    src = ex["buf_alloc"](store, len(data))
    mem.write(store, data, src)
    good &= check("zlib_crc32", ex["zlib_crc32"](store, src, len(data)), as_i32(zlib.crc32(data)))
    good &= check("zlib_adler32", ex["zlib_adler32"](store, src, len(data)), as_i32(zlib.adler32(data)))
    cap = ex["zlib_compress_bound"](store, len(data))
    dst = ex["buf_alloc"](store, cap)
    n = ex["zlib_compress"](store, src, len(data), dst, cap, 9)
    packed = bytes(mem.read(store, dst, dst + n)) if n > 0 else b""
    print(f"     compressed {len(data)} -> {n} bytes (CPython zlib -9: {len(zlib.compress(data, 9))})")
    good &= check("CPython inflates ours", zlib.decompress(packed) == data, True)
    good &= check("zlib_compress into 10 bytes", ex["zlib_compress"](store, src, len(data), dst, 10, 9), -5)
    theirs = zlib.compress(data, 6)
    mem.write(store, theirs, dst)
    out = ex["buf_alloc"](store, len(data))
    good &= check("zlib_uncompress CPython's", ex["zlib_uncompress"](store, dst, len(theirs), out, len(data)), len(data))
    good &= check("round trip bytes", bytes(mem.read(store, out, out + len(data))) == data, True)
    mem.write(store, b"\x78\x9c garbage", dst)
    good &= check("zlib_uncompress garbage", ex["zlib_uncompress"](store, dst, 10, out, len(data)), -3)
    for p in (src, dst, out):
        ex["buf_free"](store, p)
    return good


def sleeper():
    """wasi_sleep under an epoch deadline ticked after 100 ms. wasmtime's
    blocking WASI cannot cut poll_oneoff short, so this takes the full 10 s,
    but the guest is interrupted on its way back and never prints "woke"."""
    config = wasmtime.Config()
    config.epoch_interruption = True
    engine = wasmtime.Engine(config)
    module = wasmtime.Module.from_file(engine, str(HERE / "wasi_sleep.wasm"))
    print("sleep imports:", [(i.module, i.name) for i in module.imports])
    store = wasmtime.Store(engine)
    store.set_epoch_deadline(1)
    with tempfile.TemporaryDirectory() as tmp:
        wasi = wasmtime.WasiConfig()
        wasi.argv = ["wasi_sleep"]
        wasi.stdout_file = f"{tmp}/out"
        store.set_wasi(wasi)
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        instance = linker.instantiate(store, module)
        threading.Timer(0.1, engine.increment_epoch).start()
        t = time.monotonic()
        try:
            instance.exports(store)["_start"](store)
            outcome = "returned"
        except wasmtime.Trap as e:
            outcome = f"trap {e.trap_code}"
        took = time.monotonic() - t
        del instance, store
        out = Path(f"{tmp}/out").read_text()
    print(f"     sleep: {outcome} after {took:.2f} s, stdout {out!r}")
    return check("sleep stdout", out, "sleeping\n")


if __name__ == "__main__":
    ok = reactor()
    ok &= zlib_reactor()
    if "--no-sleep" not in sys.argv:
        ok &= sleeper()
    sys.exit(0 if ok else 1)

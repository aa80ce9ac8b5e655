;; @describe: a WASI command writes its argv and environment buffers (NUL-separated) to stdout: argv[0] is the component name, the rest and the whole environment come from the manifest
;; @manifest: wasi_args_env.toml
;; @expect-start: ok
;; @expect-health: healthy
;; @expect-cleanup: not-exported
;; @expect-stdout: wasi_args_env\0-e\0two words\0\0GREETING=hi\0LANG=C\0
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $env_sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $env_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; Writes `len` bytes at `ptr` to stdout (iovec at 0, nwritten at 8).
  (func $out (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (if (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))
      (then unreachable)))
  (func (export "_start")
    ;; counts at 16, buffer sizes at 20; pointer arrays at 1024, buffers at 4096.
    (if (call $args_sizes (i32.const 16) (i32.const 20)) (then unreachable))
    (if (call $args_get (i32.const 1024) (i32.const 4096)) (then unreachable))
    (call $out (i32.const 4096) (i32.load (i32.const 20)))
    (if (call $env_sizes (i32.const 16) (i32.const 20)) (then unreachable))
    (if (call $env_get (i32.const 1024) (i32.const 8192)) (then unreachable))
    (call $out (i32.const 8192) (i32.load (i32.const 20)))))

;; @describe: proc_exit(0) in _start is a successful start; no guest code runs after it, so _cleanup is not run (exited)
;; @manifest: wasi_hello.toml
;; @expect-start: ok
;; @expect-health: healthy
;; @expect-cleanup: exited
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $proc_exit (i32.const 0)) unreachable)
  (func (export "_cleanup") unreachable))

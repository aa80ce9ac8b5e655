;; @describe: imports host::log, which its manifest permits, and logs from _start
;; @manifest: log_permitted.toml
;; @expect-start: ok
;; @expect-health: healthy
;; @expect-cleanup: completed
(module
  (import "host" "log" (func $log (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello from the guest")
  (func (export "_start") (call $log (i32.const 16) (i32.const 20)))
  (func (export "_cleanup") (call $log (i32.const 16) (i32.const 5))))

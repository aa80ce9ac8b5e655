;; @describe: host::log is permitted but called with a range outside memory: a trap, not a host crash
;; @manifest: log_permitted.toml
;; @expect-start: Trap
(module
  (import "host" "log" (func $log (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $log (i32.const 65530) (i32.const 100))))

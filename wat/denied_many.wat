;; @describe: several denied imports of every kind: all are listed, not just the first
;; @expect-start: PermissionDenied
;; @expect-denied: env::abort, env::memory, host::log, host::secret_table, wasi::clock
(module
  (import "env" "abort" (func))
  (import "env" "memory" (memory 1))
  (import "host" "log" (func (param i32 i32)))
  (import "host" "secret_table" (table 1 funcref))
  (import "wasi" "clock" (global i64)))

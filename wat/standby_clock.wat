;; @describe: remembers when it was instantiated: its start section reads the monotonic clock; `age` and every message answer the nanoseconds since then (8 bytes, little-endian), so an instance made ahead as a standby is older when its start comes; a message starting with `!` traps
;; @manifest: wasi_hello.toml
;; @expect-start: ok
;; @expect-health: healthy
;; @expect-cleanup: not-exported
(module
  (import "wasi_snapshot_preview1" "clock_time_get"
    (func $clock_time_get (param i32 i64 i32) (result i32)))
  (memory (export "memory") 1)
  ;; The monotonic clock (id 1) at bytes 0..8: when the instance was made.
  (func $born (drop (call $clock_time_get (i32.const 1) (i64.const 0) (i32.const 0))))
  (start $born)
  (func $age (export "age") (result i64)
    (drop (call $clock_time_get (i32.const 1) (i64.const 0) (i32.const 8)))
    (i64.sub (i64.load (i32.const 8)) (i64.load (i32.const 0))))
  (func (export "crash") unreachable)
  (func (export "alloc-message") (param i32) (result i32) (i32.const 64))
  ;; The reply: the age at bytes 16..24.
  (func (export "handle-message") (param $ptr i32) (param $len i32) (result i64)
    (if (local.get $len)
      (then (if (i32.eq (i32.load8_u (local.get $ptr)) (i32.const 33)) (then unreachable))))
    (i64.store (i32.const 16) (call $age))
    (i64.const 0x10_0000_0008)))

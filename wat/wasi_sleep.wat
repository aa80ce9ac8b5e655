;; @describe: _start sleeps 10 s in poll_oneoff, inside a host call where epoch interruption cannot reach it; the timer around every WASI call ends it at its 100 ms deadline
;; @manifest: wasi_sleep.toml
;; @expect-start: Deadline
(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; One subscription at 0 (48 bytes): userdata 0, tag 0 (clock), clock id
  ;; 1 (monotonic) at 16, timeout 10 s in ns at 24, precision 0, flags 0
  ;; (relative). The event goes at 64, the count at 128.
  (data (i32.const 16) "\01\00\00\00")
  (data (i32.const 24) "\00\e4\0b\54\02\00\00\00")
  (func (export "_start")
    (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))))

;; @describe: handle-message traps: that message is answered Trap, the half-run instance is discarded (Failed), and the next message is answered Stopped without running
;; @expect-start: ok
;; @message: first
;; @expect-reply: error Trap
;; @message: second
;; @expect-reply: error Stopped
;; @expect-health: failed
;; @expect-cleanup: poisoned
(module
  (memory (export "memory") 1)
  (func (export "alloc-message") (param i32) (result i32) (i32.const 0))
  (func (export "handle-message") (param i32 i32) (result i64) unreachable)
  (func (export "_cleanup")))

;; @describe: alloc-message traps: the message is answered Trap and the instance is discarded (Failed) before handle-message could run
;; @expect-start: ok
;; @message: hello
;; @expect-reply: error Trap
;; @expect-health: failed
;; @expect-cleanup: poisoned
(module
  (memory (export "memory") 1)
  (func (export "alloc-message") (param i32) (result i32) unreachable)
  (func (export "handle-message") (param i32 i32) (result i64) (i64.const 0))
  (func (export "_cleanup")))

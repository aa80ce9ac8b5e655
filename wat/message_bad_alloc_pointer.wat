;; @describe: alloc-message returns room past the end of memory: MessageAbi, handle-message never runs, and the actor stays Ready (healthy, cleaned up)
;; @expect-start: ok
;; @message: hello
;; @expect-reply: error MessageAbi
;; @expect-health: healthy
;; @expect-cleanup: completed
(module
  (memory (export "memory") 1)
  (global $handled (mut i32) (i32.const 0))
  (func (export "alloc-message") (param i32) (result i32) (i32.const 65534))
  (func (export "handle-message") (param i32 i32) (result i64)
    (global.set $handled (i32.const 1))
    (i64.const 0))
  ;; Failed (2) if handle-message ran.
  (func (export "_health") (result i32) (i32.mul (global.get $handled) (i32.const 2)))
  (func (export "_cleanup")))

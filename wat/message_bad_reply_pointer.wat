;; @describe: handle-message replies with a pointer and length past the end of memory: MessageAbi, and the actor stays Ready
;; @expect-start: ok
;; @message: hello
;; @expect-reply: error MessageAbi
;; @expect-health: healthy
;; @expect-cleanup: completed
(module
  (memory (export "memory") 1)
  (func (export "alloc-message") (param i32) (result i32) (i32.const 0))
  ;; 16 bytes at 65530: six past the end of the 64 KiB memory.
  (func (export "handle-message") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 65530) (i64.const 32)) (i64.const 16)))
  (func (export "_cleanup")))

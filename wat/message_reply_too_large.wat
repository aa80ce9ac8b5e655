;; @describe: a reply of 65,537 bytes (inside memory) is over max_message_bytes (64 KiB): MessageTooLarge, and the actor stays Ready
;; @expect-start: ok
;; @message: hello
;; @expect-reply: error MessageTooLarge
;; @expect-health: healthy
;; @expect-cleanup: completed
(module
  (memory (export "memory") 2)
  (func (export "alloc-message") (param i32) (result i32) (i32.const 0))
  (func (export "handle-message") (param i32 i32) (result i64) (i64.const 65537))
  (func (export "_cleanup")))

;; @describe: a 5-byte message to an actor whose max_message_bytes is 4 is refused MessageTooLarge before any guest code runs; a 4-byte one is echoed and the actor stays Ready
;; @manifest: mailbox_small.toml
;; @expect-start: ok
;; @message: hello
;; @expect-reply: error MessageTooLarge
;; @message: four
;; @expect-reply: four
;; @expect-health: healthy
;; @expect-cleanup: not-exported
(module
  (memory (export "memory") 1)
  (func (export "alloc-message") (param i32) (result i32) (i32.const 1024))
  (func (export "handle-message") (param $ptr i32) (param $len i32) (result i64)
    (i64.or
      (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
      (i64.extend_i32_u (local.get $len)))))

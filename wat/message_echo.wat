;; @describe: an echo actor: each message is copied into guest memory (alloc-message gives room), and handle-message replies with the same bytes
;; @expect-start: ok
;; @message: ping
;; @expect-reply: ping
;; @message: two words\n and a line
;; @expect-reply: two words\n and a line
;; @message:
;; @expect-reply:
;; @expect-health: healthy
;; @expect-cleanup: not-exported
(module
  (memory (export "memory") 2)
  ;; Room for any message at 1024 (max_message_bytes is 64 KiB; memory 128 KiB).
  (func (export "alloc-message") (param $len i32) (result i32) (i32.const 1024))
  ;; The reply is the message where it lies: (ptr << 32) | len.
  (func (export "handle-message") (param $ptr i32) (param $len i32) (result i64)
    (i64.or
      (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
      (i64.extend_i32_u (local.get $len)))))

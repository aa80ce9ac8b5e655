;; @describe: a busy actor: handle-message spins (the message's first byte times a million iterations) and replies "done"; the deadline allows it
;; @manifest: message_slow.toml
;; @expect-start: ok
;; @message: \x01
;; @expect-reply: done
;; @expect-health: healthy
;; @expect-cleanup: not-exported
(module
  (memory (export "memory") 1)
  (data (i32.const 0) "done")
  (func (export "alloc-message") (param i32) (result i32) (i32.const 1024))
  (func (export "handle-message") (param $ptr i32) (param $len i32) (result i64)
    (local $n i32)
    (if (local.get $len)
      (then (local.set $n (i32.mul (i32.load8_u (local.get $ptr)) (i32.const 1000000)))))
    (block $done
      (loop $spin
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $spin)))
    ;; "done" at 0, 4 bytes.
    (i64.const 4)))

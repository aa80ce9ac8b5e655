;; @describe: a counter actor: state kept between messages; each message adds one and the reply is the count in decimal
;; @expect-start: ok
;; @message: add
;; @expect-reply: 1
;; @message: add
;; @expect-reply: 2
;; @message: add
;; @expect-reply: 3
;; @expect-health: healthy
;; @expect-cleanup: not-exported
(module
  (memory (export "memory") 1)
  (global $count (mut i32) (i32.const 0))
  (func (export "alloc-message") (param $len i32) (result i32) (i32.const 4096))
  ;; Writes the count's decimal digits backwards from 64 and replies with them.
  (func (export "handle-message") (param $ptr i32) (param $len i32) (result i64)
    (local $n i32) (local $at i32)
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (local.set $n (global.get $count))
    (local.set $at (i32.const 64))
    (loop $digit
      (local.set $at (i32.sub (local.get $at) (i32.const 1)))
      (i32.store8 (local.get $at)
        (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $digit (local.get $n)))
    (i64.or
      (i64.shl (i64.extend_i32_u (local.get $at)) (i64.const 32))
      (i64.extend_i32_u (i32.sub (i32.const 64) (local.get $at))))))

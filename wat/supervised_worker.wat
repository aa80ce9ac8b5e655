;; @describe: a worker to supervise: any message adds one and is answered with the count in decimal, except `!...` (traps), `sick` and `well` (set what `_health` reports: 2, failed, or 0, healthy)
;; @expect-start: ok
;; @message: add
;; @expect-reply: 1
;; @message: sick
;; @expect-reply: sick
;; @expect-health: failed
;; @expect-cleanup: completed
(module
  (memory (export "memory") 1)
  (global $count (mut i32) (i32.const 0))
  (global $sick (mut i32) (i32.const 0))
  (func (export "alloc-message") (param $len i32) (result i32) (i32.const 4096))
  (func $is (param $ptr i32) (param $len i32) (param $word i32) (result i32)
    (i32.and (i32.eq (local.get $len) (i32.const 4))
             (i32.eq (i32.load (local.get $ptr)) (local.get $word))))
  (func (export "handle-message") (param $ptr i32) (param $len i32) (result i64)
    (local $n i32) (local $at i32)
    (if (local.get $len)
      (then (if (i32.eq (i32.load8_u (local.get $ptr)) (i32.const 33)) (then unreachable))))
    ;; "sick" and "well", little-endian
    (if (call $is (local.get $ptr) (local.get $len) (i32.const 0x6b636973))
      (then (global.set $sick (i32.const 1))
            (return (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32)) (i64.const 4)))))
    (if (call $is (local.get $ptr) (local.get $len) (i32.const 0x6c6c6577))
      (then (global.set $sick (i32.const 0))
            (return (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32)) (i64.const 4)))))
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
      (i64.extend_i32_u (i32.sub (i32.const 64) (local.get $at)))))
  (func (export "_health") (result i32) (select (i32.const 2) (i32.const 0) (global.get $sick)))
  (func (export "_cleanup")))

;; @describe: _start counts to 2^31: the fuel budget runs out long before the deadline
;; @manifest: slow_deadline.toml
;; @expect-start: OutOfFuel
(module
  (func (export "_start") (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 2147483647))))))

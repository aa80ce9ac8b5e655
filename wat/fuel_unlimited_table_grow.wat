;; @describe: no fuel cap, and _start asks 100 times for 2^64-1 more table64 elements: each is refused (-1), and fuel never runs out (wasmtime's per-element fuel charge for table.grow used to exhaust even the u64::MAX budget)
;; @manifest: fuel_unlimited.toml
;; @expect-start: ok
;; @expect-health: healthy
;; @expect-cleanup: not-exported
(module
  (table $t i64 0 funcref)
  (func (export "_start") (local $i i32)
    (loop $again
      (if (i64.ne (table.grow $t (ref.null func) (i64.const -1)) (i64.const -1)) (then unreachable))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 100))))))

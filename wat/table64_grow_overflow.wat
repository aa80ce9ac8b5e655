;; @describe: a table64 grows to 995 of 1,000 elements, asks for 2^64-1 more (an overflow wasmtime reports as a failed growth it never asked the limiter about), then for 995 more: refused, the table stays within the cap
;; @manifest: table64_1000_no_fuel_cap.toml
;; @expect-start: ok
;; @expect-health: healthy
;; @expect-cleanup: not-exported
(module
  (table $t i64 0 funcref)
  (func (export "_start")
    (if (i64.ne (table.grow $t (ref.null func) (i64.const 995)) (i64.const 0)) (then unreachable))
    (if (i64.ne (table.grow $t (ref.null func) (i64.const -1)) (i64.const -1)) (then unreachable))
    (if (i64.ne (table.grow $t (ref.null func) (i64.const 995)) (i64.const -1)) (then unreachable)))
  ;; healthy only if the table is still within the cap
  (func (export "_health") (result i32)
    (if (result i32) (i64.le_u (table.size $t) (i64.const 1000))
      (then (i32.const 0)) (else (i32.const 2)))))

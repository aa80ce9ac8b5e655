;; @describe: _start writes memory, _health reads it back, _cleanup clears it
;; @expect-start: ok
;; @expect-health: healthy
;; @expect-cleanup: completed
(module
  (memory (export "memory") 1)
  (func (export "_start") (i32.store (i32.const 0) (i32.const 42)))
  (func (export "_health") (result i32)
    (if (result i32) (i32.eq (i32.load (i32.const 0)) (i32.const 42))
      (then (i32.const 0))
      (else (i32.const 2))))
  (func (export "_cleanup") (i32.store (i32.const 0) (i32.const 0))))

;; @describe: _health returns 1: running but degraded
;; @expect-start: ok
;; @expect-health: degraded
;; @expect-cleanup: not-exported
(module (func (export "_health") (result i32) (i32.const 1)))

;; @describe: _health returns 7: any value other than 0 or 1 is a failure
;; @expect-start: ok
;; @expect-health: failed
;; @expect-cleanup: not-exported
(module (func (export "_health") (result i32) (i32.const 7)))

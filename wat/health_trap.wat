;; @describe: _health traps: the check fails, the half-run instance is discarded without _cleanup (Failed), and stop still Terminates
;; @expect-start: ok
;; @expect-health: failed
;; @expect-cleanup: poisoned
(module
  (func (export "_health") (result i32) unreachable)
  (func (export "_cleanup")))

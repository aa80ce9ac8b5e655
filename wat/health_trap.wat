;; @describe: _health traps: the check fails, the actor stays Ready and stops cleanly
;; @expect-start: ok
;; @expect-health: failed
;; @expect-cleanup: completed
(module
  (func (export "_health") (result i32) unreachable)
  (func (export "_cleanup")))

;; @describe: _health never returns: the deadline fails the check and discards the instance without _cleanup; stop still Terminates
;; @manifest: fuel_unlimited.toml
;; @expect-start: ok
;; @expect-health: failed
;; @expect-cleanup: poisoned
(module
  (func (export "_health") (result i32) (loop (br 0)) (i32.const 0))
  (func (export "_cleanup")))

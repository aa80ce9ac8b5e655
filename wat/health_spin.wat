;; @describe: _health never returns: the deadline fails the check; cleanup still runs
;; @manifest: fuel_unlimited.toml
;; @expect-start: ok
;; @expect-health: failed
;; @expect-cleanup: completed
(module
  (func (export "_health") (result i32) (loop (br 0)) (i32.const 0))
  (func (export "_cleanup")))

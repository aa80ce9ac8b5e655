;; @describe: _cleanup traps: stop still succeeds, outcome Trapped
;; @expect-start: ok
;; @expect-health: healthy
;; @expect-cleanup: trapped
(module (func (export "_cleanup") unreachable))

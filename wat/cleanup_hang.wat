;; @describe: _cleanup never returns: stop still succeeds within its timeout, outcome TimedOut
;; @manifest: fuel_unlimited.toml
;; @stop-timeout-ms: 20
;; @expect-start: ok
;; @expect-health: healthy
;; @expect-cleanup: timed-out
(module (func (export "_cleanup") (loop (br 0))))

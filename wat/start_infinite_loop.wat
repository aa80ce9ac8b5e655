;; @describe: _start never returns and burns no fuel limit: only the wall-clock deadline stops it
;; @manifest: fuel_unlimited.toml
;; @expect-start: Deadline
(module (func (export "_start") (loop (br 0))))

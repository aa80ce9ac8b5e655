;; @describe: host::log is permitted but imported with the wrong type: instantiation fails
;; @manifest: log_permitted.toml
;; @expect-start: Instantiation
(module
  (import "host" "log" (func $log (param i64)))
  (func (export "_start")))

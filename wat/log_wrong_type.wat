;; @describe: host::log is permitted but imported with the wrong type: nothing provides that, refused before compiling
;; @manifest: log_permitted.toml
;; @expect-start: UnsupportedImport
(module
  (import "host" "log" (func $log (param i64)))
  (func (export "_start")))

;; @describe: imports host::log without the manifest's permission
;; @expect-start: PermissionDenied
;; @expect-denied: host::log
(module
  (import "host" "log" (func $log (param i32 i32)))
  (func (export "_start")))

;; @describe: _start recurses without end: a stack-overflow trap, never a crash
;; @manifest: fuel_unlimited.toml
;; @expect-start: Trap
(module
  (func $down (export "_start") (call $down)))

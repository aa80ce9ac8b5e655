;; @describe: a reactor: start runs _initialize (no WASI needed), which sets the state _health then reads (healthy only if it ran)
;; @expect-start: ok
;; @expect-health: healthy
;; @expect-cleanup: not-exported
(module
  (global $ready (mut i32) (i32.const 2))
  (func (export "_initialize") (global.set $ready (i32.const 0)))
  ;; 2 (failed) unless _initialize ran.
  (func (export "_health") (result i32) (global.get $ready)))

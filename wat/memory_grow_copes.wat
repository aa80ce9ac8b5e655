;; @describe: _start grows memory past the cap, gets -1, and carries on; the growth within the cap succeeds
;; @manifest: memory_1mib.toml
;; @expect-start: ok
;; @expect-health: healthy
;; @expect-cleanup: not-exported
(module
  (memory 1)
  (global $refused (mut i32) (i32.const 0))
  (global $grown (mut i32) (i32.const 0))
  (func (export "_start")
    (global.set $refused (i32.eq (memory.grow (i32.const 16)) (i32.const -1)))
    (global.set $grown (i32.eq (memory.grow (i32.const 15)) (i32.const 1))))
  ;; healthy only if the first growth was refused and the second allowed
  (func (export "_health") (result i32)
    (if (result i32) (i32.and (global.get $refused) (global.get $grown))
      (then (i32.const 0)) (else (i32.const 2)))))

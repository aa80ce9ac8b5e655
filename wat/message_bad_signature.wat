;; @describe: handle-message of the wrong type (one i32, no result) fails the start with ExportSignature before anything runs
;; @expect-start: ExportSignature
(module
  (memory (export "memory") 1)
  (func (export "alloc-message") (param i32) (result i32) (i32.const 0))
  (func (export "handle-message") (param i32)))

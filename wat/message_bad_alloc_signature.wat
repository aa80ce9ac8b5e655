;; @describe: alloc-message of the wrong type (i64 length) fails the start with ExportSignature
;; @expect-start: ExportSignature
(module
  (memory (export "memory") 1)
  (func (export "alloc-message") (param i64) (result i32) (i32.const 0))
  (func (export "handle-message") (param i32 i32) (result i64) (i64.const 0)))

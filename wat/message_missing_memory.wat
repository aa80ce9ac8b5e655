;; @describe: handle-message without a memory exported as `memory` fails the start with ExportSignature
;; @expect-start: ExportSignature
(module
  (memory 1)
  (func (export "alloc-message") (param i32) (result i32) (i32.const 0))
  (func (export "handle-message") (param i32 i32) (result i64) (i64.const 0)))

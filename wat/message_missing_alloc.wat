;; @describe: handle-message without alloc-message fails the start with ExportSignature (the host has nowhere to put a message)
;; @expect-start: ExportSignature
(module
  (memory (export "memory") 1)
  (func (export "handle-message") (param i32 i32) (result i64) (i64.const 0)))

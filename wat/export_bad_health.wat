;; @describe: _health returns i64 instead of i32
;; @expect-start: ExportSignature
(module (func (export "_health") (result i64) (i64.const 0)))

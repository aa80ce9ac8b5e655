;; @describe: _cleanup is a global, not a function
;; @expect-start: ExportSignature
(module (global (export "_cleanup") i32 (i32.const 0)))

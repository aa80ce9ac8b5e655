;; @describe: _start takes a parameter: refused before any guest code runs
;; @expect-start: ExportSignature
(module (func (export "_start") (param i32)))

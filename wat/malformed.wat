;; @describe: WebAssembly text that does not parse
;; @expect-start: InvalidWat
(module (func (export "_start") (i32.add (i32.const 1)

;; @describe: a valid module cut after 30 bytes: the magic is right, the rest is not
;; @source: truncate:30
;; @expect-start: Compile
(module
  (memory 1)
  (func (export "_start") (i32.store (i32.const 0) (i32.const 1)))
  (func (export "_health") (result i32) (i32.const 0)))

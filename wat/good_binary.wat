;; @describe: the good module fed as a binary (ComponentSource::from_bytes)
;; @source: binary
;; @expect-start: ok
;; @expect-health: healthy
;; @expect-cleanup: completed
(module
  (func (export "_start"))
  (func (export "_health") (result i32) (i32.const 0))
  (func (export "_cleanup")))

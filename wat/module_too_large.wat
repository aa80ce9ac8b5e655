;; @describe: a module larger than the manifest's max_module_bytes (64): refused before it is read or compiled
;; @manifest: module_64_bytes.toml
;; @expect-start: ModuleTooLarge
(module
  (memory (export "memory") 1)
  (func (export "_start"))
  (func (export "_health") (result i32) (i32.const 0))
  (func (export "_cleanup")))

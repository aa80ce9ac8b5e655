;; @describe: fd_write imported with a type preview1's is not: refused before compiling as an import nothing provides
;; @manifest: wasi_hello.toml
;; @expect-start: UnsupportedImport
(module
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32) (result i32))))

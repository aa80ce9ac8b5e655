;; @describe: a module importing WASI under a manifest with no [wasi] table is refused before compiling; the error counts the WASI imports once and says to add a [wasi] table
;; @expect-start: PermissionDenied
;; @expect-denied: wasi_snapshot_preview1::fd_write, wasi_snapshot_preview1::proc_exit
(module
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func (param i32))))

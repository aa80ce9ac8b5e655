;; @describe: imports from a module the host does not provide (WASI)
;; @expect-start: PermissionDenied
;; @expect-denied: wasi_snapshot_preview1::fd_write
(module
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32))))

;; @describe: a WASI command: _start writes "hello, wasi\n" to stdout through fd_write and returns
;; @manifest: wasi_hello.toml
;; @expect-start: ok
;; @expect-health: healthy
;; @expect-cleanup: not-exported
;; @expect-stdout: hello, wasi\n
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; iovec {ptr 16, len 12} at 0; the text at 16; nwritten at 32.
  (data (i32.const 0) "\10\00\00\00\0c\00\00\00")
  (data (i32.const 16) "hello, wasi\n")
  (func (export "_start")
    (if (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 32))
      (then unreachable))))

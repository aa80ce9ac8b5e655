;; @describe: a WASI command writes a line, then calls proc_exit(3): the start fails with Exit (code 3) and the line is kept
;; @manifest: wasi_hello.toml
;; @expect-start: Exit
;; @expect-stdout: before exit\n
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\10\00\00\00\0c\00\00\00")
  (data (i32.const 16) "before exit\n")
  (func (export "_start")
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 32)))
    (call $proc_exit (i32.const 3))
    ;; Never reached: proc_exit does not return.
    unreachable))

;; @describe: a WASI guest tries to leave its preopen: "../../../../etc/passwd" and "/etc/passwd" relative to fd 3 are both refused, so it prints "refused twice" (it traps if either opens)
;; @manifest: wasi_ro_preopen.toml
;; @expect-start: ok
;; @expect-health: healthy
;; @expect-cleanup: not-exported
;; @expect-stdout: refused twice\n
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\10\00\00\00\0e\00\00\00")
  (data (i32.const 16) "refused twice\n")
  (data (i32.const 64) "../../../../etc/passwd")
  (data (i32.const 96) "/etc/passwd")
  ;; Opens `len` bytes at `path` under fd 3 for reading; traps if it works.
  (func $must_fail (param $path i32) (param $len i32)
    (if (i32.eqz (call $path_open (i32.const 3) (i32.const 1) (local.get $path) (local.get $len)
                   (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 128)))
      (then unreachable)))
  (func (export "_start")
    (call $must_fail (i32.const 64) (i32.const 22))
    (call $must_fail (i32.const 96) (i32.const 11))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 32)))))

;; @describe: a WASI guest tries to create a file in a read-only preopen (path_open with O_CREAT | O_EXCL and write rights on fd 3): refused with an errno, so it prints "refused" (it traps if the create succeeds)
;; @manifest: wasi_ro_preopen.toml
;; @expect-start: ok
;; @expect-health: healthy
;; @expect-cleanup: not-exported
;; @expect-stdout: refused\n
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\10\00\00\00\08\00\00\00")
  (data (i32.const 16) "refused\n")
  (data (i32.const 64) "component_actor_must_not_exist.txt")
  (func (export "_start")
    ;; fd 3, no dirflags, the name at 64 (34 bytes), O_CREAT | O_EXCL (5),
    ;; rights fd_read | fd_write, none inherited, no fdflags, new fd at 128.
    (if (i32.eqz (call $path_open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const 34)
                   (i32.const 5) (i64.const 66) (i64.const 0) (i32.const 0) (i32.const 128)))
      (then unreachable))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 32)))))

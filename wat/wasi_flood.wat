;; @describe: a WASI guest writes 100 x 64 KiB to stdout under max_output_bytes = 1000: the first 1000 bytes are kept, the rest dropped and flagged, and the guest is not stopped for it
;; @manifest: wasi_flood.toml
;; @expect-start: ok
;; @expect-health: healthy
;; @expect-cleanup: not-exported
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "_start") (local $i i32)
    ;; iovec {ptr 0, len 65536} at 65536; 65536 bytes of "x" at 0.
    (memory.fill (i32.const 0) (i32.const 120) (i32.const 65536))
    (i32.store (i32.const 65536) (i32.const 0))
    (i32.store (i32.const 65540) (i32.const 65536))
    (loop $again
      (if (call $fd_write (i32.const 1) (i32.const 65536) (i32.const 1) (i32.const 65544))
        (then unreachable))
      (br_if $again (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 100))))))

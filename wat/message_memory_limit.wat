;; @describe: handle-message grows memory past max_memory_bytes (1 MiB here): memory.grow returns -1, the guest traps on it, and the message is answered MemoryLimit
;; @manifest: memory_1mib.toml
;; @expect-start: ok
;; @message: grow
;; @expect-reply: error MemoryLimit
;; @expect-health: failed
;; @expect-cleanup: poisoned
(module
  (memory (export "memory") 1)
  (func (export "alloc-message") (param i32) (result i32) (i32.const 0))
  ;; 1 page + 16 pages = 1088 KiB, over 1 MiB.
  (func (export "handle-message") (param i32 i32) (result i64)
    (if (i32.eq (memory.grow (i32.const 16)) (i32.const -1)) (then unreachable))
    (i64.const 0))
  (func (export "_cleanup")))

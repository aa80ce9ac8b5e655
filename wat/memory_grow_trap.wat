;; @describe: _start grows memory past the cap, gets -1, and traps
;; @manifest: memory_1mib.toml
;; @expect-start: MemoryLimit
(module
  (memory 1)
  (func (export "_start")
    (if (i32.eq (memory.grow (i32.const 16)) (i32.const -1)) (then unreachable))))

;; @describe: two memories of 640 KiB each: each fits the 1 MiB cap, together they do not
;; @manifest: memory_1mib.toml
;; @expect-start: MemoryLimit
(module
  (memory 10)
  (memory 10)
  (func (export "_start")))

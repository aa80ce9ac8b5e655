;; @describe: initial memory of 257 pages (16 MiB + 64 KiB) is over the default 16 MiB cap
;; @expect-start: MemoryLimit
(module (memory 257))

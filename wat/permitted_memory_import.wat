;; @describe: the manifest permits env::memory, but no host provides a memory: refused before compiling
;; @manifest: permits_env_memory.toml
;; @expect-start: UnsupportedImport
(module (import "env" "memory" (memory 1)))

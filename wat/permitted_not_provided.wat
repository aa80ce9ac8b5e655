;; @describe: the manifest permits host::nope but no host function provides it: refused before compiling
;; @manifest: permits_nope.toml
;; @expect-start: UnsupportedImport
(module (import "host" "nope" (func)))

;; @describe: the manifest permits host::nope but no host function provides it
;; @manifest: permits_nope.toml
;; @expect-start: Instantiation
(module (import "host" "nope" (func)))

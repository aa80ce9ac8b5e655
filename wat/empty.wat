;; @describe: zero bytes
;; @source: empty
;; @expect-start: EmptyModule
(module)

;; @describe: the smallest module: nothing to start, check or clean up
;; @expect-start: ok
;; @expect-health: healthy
;; @expect-cleanup: not-exported
(module)

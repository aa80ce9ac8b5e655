;; @describe: a table of 10,001 elements is over the default 10,000 cap
;; @expect-start: TableLimit
(module (table 10001 funcref))

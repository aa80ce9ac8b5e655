;; @describe: two tables of 6,000 elements each: each fits the default 10,000 cap, together they do not
;; @expect-start: TableLimit
(module
  (table 6000 funcref)
  (table 6000 funcref)
  (func (export "_start")))

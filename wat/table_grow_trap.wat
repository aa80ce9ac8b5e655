;; @describe: _start grows a table past the cap, gets -1, and traps
;; @expect-start: TableLimit
(module
  (table 10 funcref)
  (func (export "_start")
    (if (i32.eq (table.grow (ref.null func) (i32.const 10000)) (i32.const -1)) (then unreachable))))

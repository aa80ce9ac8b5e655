;; @describe: _start traps
;; @expect-start: Trap
(module (func (export "_start") unreachable))

;; @describe: a valid module whose first four bytes are replaced by an ELF header
;; @source: magic:7f454c46
;; @expect-start: InvalidMagic
(module (func (export "_start")))

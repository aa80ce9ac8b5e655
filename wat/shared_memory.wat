;; @describe: a shared memory needs the threads proposal, which is off: refused at compile time
;; @expect-start: Compile
(module (memory 1 1 shared))

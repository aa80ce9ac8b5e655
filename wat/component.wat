;; @describe: a WebAssembly component, not a core module: refused in one line at compile time
;; @expect-start: Compile
(component)

;; @describe: the module's start section loops forever: instantiation itself is under the deadline
;; @manifest: fuel_unlimited.toml
;; @expect-start: Deadline
(module (func $spin (loop (br 0))) (start $spin))

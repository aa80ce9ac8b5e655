;; @describe: handle-message loops forever with no fuel cap: its deadline (max_call_duration) answers the message Deadline and the actor fails
;; @manifest: fuel_unlimited.toml
;; @expect-start: ok
;; @message: spin
;; @expect-reply: error Deadline
;; @expect-health: failed
;; @expect-cleanup: poisoned
(module
  (memory (export "memory") 1)
  (func (export "alloc-message") (param i32) (result i32) (i32.const 0))
  (func (export "handle-message") (param i32 i32) (result i64)
    (loop $l (br $l))
    (i64.const 0))
  (func (export "_cleanup")))

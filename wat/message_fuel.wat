;; @describe: handle-message loops forever under the default fuel cap: OutOfFuel answers the message and the actor fails (fuel is refilled for each call, so start was fine)
;; @expect-start: ok
;; @message: spin
;; @expect-reply: error OutOfFuel
;; @expect-health: failed
;; @expect-cleanup: poisoned
(module
  (memory (export "memory") 1)
  (func (export "alloc-message") (param i32) (result i32) (i32.const 0))
  (func (export "handle-message") (param i32 i32) (result i64)
    (loop $l (br $l))
    (i64.const 0))
  (func (export "_cleanup")))

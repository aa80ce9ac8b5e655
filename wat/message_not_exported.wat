;; @describe: no handle-message: a message is answered NotExported and the actor keeps running (healthy, then cleaned up)
;; @expect-start: ok
;; @message: hello
;; @expect-reply: error NotExported
;; @message: again
;; @expect-reply: error NotExported
;; @expect-health: healthy
;; @expect-cleanup: completed
(module
  (func (export "_cleanup")))

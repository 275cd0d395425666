;; Exception handling (try_table, throw, throw_ref) beyond what the core-3.0 scripts can
;; exercise here (their try_table.wast also needs tail calls): every catch kind, nesting,
;; rethrow, propagation through calls and call_indirect, traps that must not be caught.
(module $m
  (tag $e0)
  (tag $e1 (param i32))
  (tag $e2 (param i32 i64))
  (tag $ev (param v128))
  (export "e1" (tag $e1))
  (table funcref (elem $thrower))
  (type $t (func (param i32)))

  (func $thrower (param i32) (throw $e1 (local.get 0)))

  (func (export "catch-payload") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $e1 $h) (call $thrower (local.get 0)))
      (i32.const -1)))

  (func (export "catch-two") (result i64) (local $b i64)
    (block $h (result i32 i64)
      (try_table (catch $e2 $h) (throw $e2 (i32.const 7) (i64.const 35)))
      (return (i64.const -1)))
    (local.set $b)
    (i64.extend_i32_u)
    (local.get $b)
    (i64.add))

  (func (export "catch-all") (result i32)
    (block $h
      (try_table (catch_all $h) (throw $e0))
      (return (i32.const 0)))
    (i32.const 1))

  (func (export "first-clause-wins") (result i32)
    (block $a (result i32)
      (block $b
        (try_table (catch $e1 $a) (catch_all $b) (call $thrower (i32.const 5)))
        (return (i32.const 0)))
      (return (i32.const 99)))
    (i32.const 100) (i32.add))

  (func (export "not-this-tag") (result i32)
    (block $outer (result i32)
      (try_table (catch $e1 $outer)
        (block $inner
          (try_table (catch $e0 $inner) (call $thrower (i32.const 3)))))
      (i32.const -1)))

  (func (export "rethrow") (result i32)
    (block $outer (result i32)
      (try_table (catch $e1 $outer)
        (block $inner (result exnref)
          (try_table (catch_all_ref $inner) (throw $e1 (i32.const 11)))
          (unreachable))
        (throw_ref))
      (i32.const -1)))

  (func (export "catch-ref-payload") (result i32)
    (block $h (result i32 exnref)
      (try_table (catch_ref $e1 $h) (throw $e1 (i32.const 21)))
      (unreachable))
    (drop))

  (func (export "indirect") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $e1 $h) (call_indirect (type $t) (local.get 0) (i32.const 0)))
      (i32.const -1)))

  (func (export "vector") (result i32)
    (block $h (result v128)
      (try_table (catch $ev $h) (throw $ev (v128.const i32x4 1 2 3 4)))
      (unreachable))
    (i32x4.extract_lane 2))

  (func (export "in-loop") (param $n i32) (result i32) (local $caught i32)
    (loop $l
      (block $h
        (try_table (catch $e0 $h)
          (if (i32.and (local.get $n) (i32.const 1)) (then (throw $e0)))))
      (local.set $caught (i32.add (local.get $caught) (i32.and (local.get $n) (i32.const 1))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n)))
    (local.get $caught))

  (func (export "trap-not-caught") (result i32)
    (block $h
      (try_table (catch_all $h) (unreachable)))
    (i32.const 1))

  (func (export "uncaught") (throw $e1 (i32.const 1)))

  (func (export "null-ref") (throw_ref (ref.null exn)))
)

(assert_return (invoke "catch-payload" (i32.const 42)) (i32.const 42))
(assert_return (invoke "catch-two") (i64.const 42))
(assert_return (invoke "catch-all") (i32.const 1))
(assert_return (invoke "first-clause-wins") (i32.const 105))
(assert_return (invoke "not-this-tag") (i32.const 3))
(assert_return (invoke "rethrow") (i32.const 11))
(assert_return (invoke "catch-ref-payload") (i32.const 21))
(assert_return (invoke "indirect" (i32.const 8)) (i32.const 8))
(assert_return (invoke "vector") (i32.const 3))
(assert_return (invoke "in-loop" (i32.const 10)) (i32.const 5))
(assert_trap (invoke "trap-not-caught") "unreachable")
(assert_exception (invoke "uncaught"))
(assert_trap (invoke "null-ref") "null exception reference")

;; An exception thrown by another instance crosses the host boundary and is caught by tag identity.
(register "m" $m)
(module
  (import "m" "e1" (tag $e1 (param i32)))
  (tag $own (param i32))
  (func $throws-imported (param i32) (throw $e1 (local.get 0)))
  (func (export "catch-imported") (result i32)
    (block $h (result i32)
      (try_table (catch $e1 $h) (call $throws-imported (i32.const 77)))
      (i32.const -1)))
  (func (export "own-is-different") (result i32)
    (block $h (result i32)
      (try_table (catch $e1 $h) (throw $own (i32.const 1)))
      (i32.const -1)))
)
(assert_return (invoke "catch-imported") (i32.const 77))
(assert_exception (invoke "own-is-different"))

;; Control shapes an engine may compile in pieces: a throw deep in loops caught outside them,
;; a catch that branches back to an enclosing loop, one that returns from the function, and
;; try_tables nested in loops nested in try_tables.
(module
  (tag $e (param i32))
  (tag $stop)
  (func $maybe (param i32) (if (i32.eq (local.get 0) (i32.const 3)) (then (throw $e (i32.const 30)))))

  (func (export "out-of-loops") (result i32) (local $i i32) (local $j i32)
    (block $h (result i32)
      (try_table (catch $e $h)
        (loop $outer
          (local.set $j (i32.const 0))
          (loop $inner
            (call $maybe (i32.add (local.get $i) (local.get $j)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br_if $inner (i32.lt_u (local.get $j) (i32.const 2))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $outer)))
      (i32.const -1))
    (i32.add (i32.mul (local.get $i) (i32.const 100))))

  (func (export "catch-to-loop") (param $n i32) (result i32) (local $count i32)
    (loop $again
      (try_table (catch $stop $again)
        (local.set $count (i32.add (local.get $count) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (if (local.get $n) (then (throw $stop)))))
    (local.get $count))

  (func (export "catch-returns") (param i32) (result i32)
    (try_table (catch $e 0) (call $maybe (local.get 0)))
    (i32.const 5))

  (func (export "nested-in-loops") (param $n i32) (result i32) (local $sum i32)
    (block $done
      (try_table (catch_all $done)
        (loop $l
          (block $skip (result i32)
            (try_table (catch $e $skip)
              (call $maybe (i32.rem_u (local.get $n) (i32.const 4)))
              (local.set $sum (i32.add (local.get $sum) (i32.const 1))))
            (i32.const 0))
          (local.set $sum (i32.add (local.get $sum)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (if (i32.eqz (local.get $n)) (then (throw $stop)))
          (br $l))))
    (local.get $sum))
)
(assert_return (invoke "out-of-loops") (i32.const 230))
(assert_return (invoke "catch-to-loop" (i32.const 4)) (i32.const 4))
(assert_return (invoke "catch-returns" (i32.const 3)) (i32.const 30))
(assert_return (invoke "catch-returns" (i32.const 2)) (i32.const 5))
(assert_return (invoke "nested-in-loops" (i32.const 8)) (i32.const 66))

;; A throw that a try_table of the same function catches (an interpreter may take it as a branch):
;; values under the payload are dropped, the outer clause is found past an inner one of another
;; tag, a catch_ref's exnref can be thrown again, a clause may return from the function, and a
;; try_table opened after other code (or closed before a call) covers exactly its own body.
(module
  (tag $e (param i32))
  (tag $other)
  (func $thrower (param i32) (throw $e (local.get 0)))

  (func (export "drops-values-under-payload") (result i32)
    (i32.const 1000)
    (block $h (result i32)
      (try_table (catch $e $h) (i32.const 1) (i32.const 2) (throw $e (i32.const 9)))
      (i32.const -1))
    (i32.add))

  (func (export "outer-clause") (result i32)
    (block $outer (result i32)
      (try_table (catch $e $outer)
        (block $inner
          (try_table (catch $other $inner) (throw $e (i32.const 4)))))
      (i32.const -1)))

  (func (export "catch-ref-then-rethrow") (result i32)
    (block $outer (result i32)
      (try_table (catch $e $outer)
        (block $inner (result i32 exnref)
          (try_table (catch_ref $e $inner) (throw $e (i32.const 12)))
          (unreachable))
        (throw_ref)
        (drop))
      (i32.const -1)))

  (func $rethrows-unmatched (param i32) (local $caught exnref)
    (block $inner (result exnref)
      (try_table (catch_all_ref $inner) (throw $e (local.get 0)))
      (unreachable))
    (local.set $caught)
    (block $skip
      (try_table (catch $other $skip) (throw_ref (local.get $caught))))
    (unreachable))
  (func (export "rethrow-to-caller") (result i32)
    (block $h (result i32)
      (try_table (catch $e $h) (call $rethrows-unmatched (i32.const 17)))
      (i32.const -1)))

  (func (export "returns-payload") (result i32)
    (try_table (catch $e 0) (i32.const 3) (throw $e (i32.const 8)))
    (i32.const 5))

  (func (export "after-code") (param i32) (result i32)
    (local.set 0 (i32.add (local.get 0) (i32.const 1)))
    (block $h (result i32)
      (try_table (catch $e $h) (call $thrower (local.get 0)))
      (i32.const -1)))

  (func (export "after-try-ends") (result i32)
    (block $h
      (try_table (catch_all $h) (nop))
      (call $thrower (i32.const 2)))
    (i32.const 0))
)
(assert_return (invoke "drops-values-under-payload") (i32.const 1009))
(assert_return (invoke "outer-clause") (i32.const 4))
(assert_return (invoke "catch-ref-then-rethrow") (i32.const 12))
(assert_return (invoke "rethrow-to-caller") (i32.const 17))
(assert_return (invoke "returns-payload") (i32.const 8))
(assert_return (invoke "after-code" (i32.const 5)) (i32.const 6))
(assert_exception (invoke "after-try-ends"))

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

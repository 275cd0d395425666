;; An exception thrown two calls deep and caught by the caller, which then calls on.
(module
  (tag $oops (param i32))
  (func $thrower (param i32) (throw $oops (local.get 0)))
  (func $middle (param i32) (call $thrower (local.get 0)))
  (func $after (result i32) (i32.const 7))
  (func $run (export "run") (result i32)
    (block $h (result i32)
      (try_table (catch $oops $h) (call $middle (i32.const 5)))
      (i32.const 0))
    (call $after)
    (i32.add)))

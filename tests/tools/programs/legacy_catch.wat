;; Legacy exception handling: a delegate past the try around it, and a rethrow from a catch_all.
(module
  (tag $oops (param i32))
  (func $thrower (param i32) (throw $oops (local.get 0)))
  (func $run (export "run") (result i32)
    (try (result i32)
      (do (try (do (call $thrower (i32.const 5))) (delegate 0)) (i32.const 0))
      (catch $oops (i32.const 1) (i32.add))))
  (func $again (export "again") (result i32)
    (try (result i32)
      (do (try (result i32) (do (call $thrower (i32.const 5)) (i32.const 0)) (catch_all (rethrow 0))))
      (catch $oops))))

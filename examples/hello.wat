;; A small module: an exported factorial, a memory with a greeting, and a
;; host import for printing.  Try:
;;   wasmbox wat2wasm examples/hello.wat -o hello.wasm
;;   wasmbox objdump -d hello.wasm
(module $hello
  (import "env" "print" (func $print (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "Hello, WebAssembly!\n")

  (func $greet (export "greet")
    (call $print (i32.const 16) (i32.const 20)))

  (func $factorial (export "factorial") (param $n i64) (result i64)
    (if (result i64) (i64.le_u (local.get $n) (i64.const 1))
      (then (i64.const 1))
      (else
        (i64.mul (local.get $n)
                 (call $factorial (i64.sub (local.get $n) (i64.const 1))))))))

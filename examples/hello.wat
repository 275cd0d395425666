;; A small WASI program: _start prints a greeting through fd_write, and
;; "factorial" can be called directly.  Try:
;;   wasmbox run examples/hello.wat
;;   wasmbox run --invoke factorial examples/hello.wat 20
;;   wasmbox wat2wasm examples/hello.wat -o hello.wasm && wasmbox objdump -d hello.wasm
(module $hello
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param $fd i32) (param $iovs i32) (param $iovs_len i32) (param $written i32) (result i32)))
  (memory (export "memory") 1)
  ;; An iovec at 0: { pointer = 16, length = 20 }, the text at 16.
  (data (i32.const 0) "\10\00\00\00\14\00\00\00")
  (data (i32.const 16) "Hello, WebAssembly!\n")

  (func $start (export "_start")
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))

  (func $factorial (export "factorial") (param $n i64) (result i64)
    (if (result i64) (i64.le_u (local.get $n) (i64.const 1))
      (then (i64.const 1))
      (else
        (i64.mul (local.get $n)
                 (call $factorial (i64.sub (local.get $n) (i64.const 1))))))))

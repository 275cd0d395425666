;; The core module of the `prober` world (sockets_probe.wit): `tcp-echo` connects to an address, sends bytes,
;; shuts its sending side and reads the reply to its end; `lookup` resolves a name to all its addresses.
;;
;; Built into a component by tests/wasi/test_sockets_p2.py:
;;   wasm-tools component embed WIT_DIR sockets_probe.wat -w prober -o embedded.wasm
;;   wasm-tools component new embedded.wasm -o sockets_probe.wasm
;; where WIT_DIR holds sockets_probe.wit and the WASI 0.2.12 packages as deps/.
;;
;; Every non-blocking step is done the WIT's way: start-connect, then the socket's pollable, then
;; finish-connect; resolve-next-address answered `would-block` waits on the stream's pollable.
;;
;; Memory: 16..32 the result area of the exports; 64..128 the return area of imported calls; the heap (a
;; bump allocator behind `cabi_realloc`) from 1024.
(module
  (import "wasi:io/poll@0.2.12" "[method]pollable.block" (func $pollable_block (param i32)))
  (import "wasi:io/poll@0.2.12" "[resource-drop]pollable" (func $pollable_drop (param i32)))
  (import "wasi:io/streams@0.2.12" "[method]input-stream.blocking-read"
    (func $blocking_read (param i32 i64 i32)))
  (import "wasi:io/streams@0.2.12" "[method]output-stream.blocking-write-and-flush"
    (func $blocking_write (param i32 i32 i32 i32)))
  (import "wasi:io/streams@0.2.12" "[resource-drop]input-stream" (func $input_stream_drop (param i32)))
  (import "wasi:io/streams@0.2.12" "[resource-drop]output-stream" (func $output_stream_drop (param i32)))
  (import "wasi:sockets/instance-network@0.2.12" "instance-network" (func $instance_network (result i32)))
  (import "wasi:sockets/network@0.2.12" "[resource-drop]network" (func $network_drop (param i32)))
  (import "wasi:sockets/tcp-create-socket@0.2.12" "create-tcp-socket" (func $create_tcp (param i32 i32)))
  (import "wasi:sockets/tcp@0.2.12" "[method]tcp-socket.start-connect"
    (func $start_connect (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)))
  (import "wasi:sockets/tcp@0.2.12" "[method]tcp-socket.finish-connect" (func $finish_connect (param i32 i32)))
  (import "wasi:sockets/tcp@0.2.12" "[method]tcp-socket.subscribe" (func $tcp_subscribe (param i32) (result i32)))
  (import "wasi:sockets/tcp@0.2.12" "[method]tcp-socket.shutdown" (func $shutdown (param i32 i32 i32)))
  (import "wasi:sockets/tcp@0.2.12" "[resource-drop]tcp-socket" (func $tcp_drop (param i32)))
  (import "wasi:sockets/ip-name-lookup@0.2.12" "resolve-addresses" (func $resolve (param i32 i32 i32 i32)))
  (import "wasi:sockets/ip-name-lookup@0.2.12" "[method]resolve-address-stream.resolve-next-address"
    (func $resolve_next (param i32 i32)))
  (import "wasi:sockets/ip-name-lookup@0.2.12" "[method]resolve-address-stream.subscribe"
    (func $resolve_subscribe (param i32) (result i32)))
  (import "wasi:sockets/ip-name-lookup@0.2.12" "[resource-drop]resolve-address-stream"
    (func $resolve_drop (param i32)))

  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))

  ;; A bump allocator: memory is never freed (one call per instance in the tests).
  (func $cabi_realloc (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32)
    (param $size i32) (result i32)
    (local $ptr i32) (local $end i32)
    (local.set $ptr
      (i32.and (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
               (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i32.add (local.get $ptr) (local.get $size)))
    (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
      (then
        (if (i32.eq (i32.const -1)
              (memory.grow (i32.add (i32.shr_u (i32.sub (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
                                               (i32.const 16))
                                    (i32.const 1))))
          (then unreachable))))
    (global.set $heap (local.get $end))
    (if (local.get $old)
      (then (memory.copy (local.get $ptr) (local.get $old) (local.get $old_size))))
    (local.get $ptr))

  ;; The result `err(code)`.
  (func $fail (param $code i32) (result i32)
    (i32.store8 (i32.const 16) (i32.const 1))
    (i32.store8 (i32.const 20) (local.get $code))
    (i32.const 16))

  ;; The result `ok(list)`.
  (func $succeed (param $ptr i32) (param $len i32) (result i32)
    (i32.store8 (i32.const 16) (i32.const 0))
    (i32.store (i32.const 20) (local.get $ptr))
    (i32.store (i32.const 24) (local.get $len))
    (i32.const 16))

  (func (export "tcp-echo")
    (param $case i32) (param $a1 i32) (param $a2 i32) (param $a3 i32) (param $a4 i32) (param $a5 i32)
    (param $a6 i32) (param $a7 i32) (param $a8 i32) (param $a9 i32) (param $a10 i32) (param $a11 i32)
    (param $data_ptr i32) (param $data_len i32)
    (result i32)
    (local $network i32) (local $socket i32) (local $pollable i32) (local $input i32) (local $output i32)
    (local $reply i32) (local $reply_len i32) (local $chunk_len i32)
    (local.set $network (call $instance_network))
    ;; the socket is of the address's family: ip-socket-address's cases are ip-address-family's
    (call $create_tcp (local.get $case) (i32.const 64))
    (if (i32.load8_u (i32.const 64))
      (then (return (call $fail (i32.load8_u (i32.const 68))))))
    (local.set $socket (i32.load (i32.const 68)))
    (call $start_connect (local.get $socket) (local.get $network) (local.get $case) (local.get $a1)
      (local.get $a2) (local.get $a3) (local.get $a4) (local.get $a5) (local.get $a6) (local.get $a7)
      (local.get $a8) (local.get $a9) (local.get $a10) (local.get $a11) (i32.const 64))
    (if (i32.load8_u (i32.const 64))
      (then (return (call $fail (i32.load8_u (i32.const 65))))))
    (local.set $pollable (call $tcp_subscribe (local.get $socket)))
    (call $pollable_block (local.get $pollable))
    (call $pollable_drop (local.get $pollable))
    (call $finish_connect (local.get $socket) (i32.const 64))
    (if (i32.load8_u (i32.const 64))
      (then (return (call $fail (i32.load8_u (i32.const 68))))))
    (local.set $input (i32.load (i32.const 68)))
    (local.set $output (i32.load (i32.const 72)))
    (call $blocking_write (local.get $output) (local.get $data_ptr) (local.get $data_len) (i32.const 64))
    (if (i32.load8_u (i32.const 64)) (then unreachable))
    (call $shutdown (local.get $socket) (i32.const 1) (i32.const 64))
    (block $done
      (loop $chunks
        (call $blocking_read (local.get $input) (i64.const 65536) (i32.const 64))
        (br_if $done (i32.load8_u (i32.const 64)))
        (local.set $chunk_len (i32.load (i32.const 72)))
        (local.set $reply (call $cabi_realloc (local.get $reply) (local.get $reply_len) (i32.const 1)
          (i32.add (local.get $reply_len) (local.get $chunk_len))))
        (memory.copy (i32.add (local.get $reply) (local.get $reply_len)) (i32.load (i32.const 68))
          (local.get $chunk_len))
        (local.set $reply_len (i32.add (local.get $reply_len) (local.get $chunk_len)))
        (br $chunks)))
    (call $input_stream_drop (local.get $input))
    (call $output_stream_drop (local.get $output))
    (call $tcp_drop (local.get $socket))
    (call $network_drop (local.get $network))
    (call $succeed (local.get $reply) (local.get $reply_len)))

  (func (export "lookup") (param $name_ptr i32) (param $name_len i32) (result i32)
    (local $network i32) (local $stream i32) (local $pollable i32) (local $list i32) (local $count i32)
    (local.set $network (call $instance_network))
    (call $resolve (local.get $network) (local.get $name_ptr) (local.get $name_len) (i32.const 64))
    (if (i32.load8_u (i32.const 64))
      (then (return (call $fail (i32.load8_u (i32.const 68))))))
    (local.set $stream (i32.load (i32.const 68)))
    (block $done
      (loop $addresses
        (call $resolve_next (local.get $stream) (i32.const 64))
        (if (i32.load8_u (i32.const 64))
          (then
            ;; would-block: wait for the stream, then ask again; any other error ends the lookup
            (if (i32.ne (i32.load8_u (i32.const 66)) (i32.const 8))
              (then (return (call $fail (i32.load8_u (i32.const 66))))))
            (local.set $pollable (call $resolve_subscribe (local.get $stream)))
            (call $pollable_block (local.get $pollable))
            (call $pollable_drop (local.get $pollable))
            (br $addresses)))
        (br_if $done (i32.eqz (i32.load8_u (i32.const 66))))
        ;; some(ip-address): 18 bytes at 68, appended to the list
        (local.set $list (call $cabi_realloc (local.get $list) (i32.mul (local.get $count) (i32.const 18))
          (i32.const 2) (i32.mul (i32.add (local.get $count) (i32.const 1)) (i32.const 18))))
        (memory.copy (i32.add (local.get $list) (i32.mul (local.get $count) (i32.const 18))) (i32.const 68)
          (i32.const 18))
        (local.set $count (i32.add (local.get $count) (i32.const 1)))
        (br $addresses)))
    (call $resolve_drop (local.get $stream))
    (call $network_drop (local.get $network))
    (call $succeed (local.get $list) (local.get $count)))
)

;; The core module of the `fetcher` world (http_fetch.wit): one export, `fetch`, that sends a request with
;; outgoing wasi:http and returns the response's status, headers and whole body, or the error.
;;
;; Built into a component by tests/wasi/test_http_p2.py:
;;   wasm-tools component embed WIT_DIR http_fetch.wat -w fetcher -o embedded.wasm
;;   wasm-tools component new embedded.wasm -o http_fetch.wasm
;; where WIT_DIR holds http_fetch.wit and the WASI 0.2.12 packages as deps/.
;;
;; The steps are those of a streaming client: take the body, `handle` the request, then write the body
;; (in 4096-byte pieces, the most `blocking-write-and-flush` promises to take), `finish` it, wait on the
;; future's pollable and read the response body to its end.
;;
;; Memory: 16..64 the result area of `fetch`; 64..128 the return area of imported calls; the heap (a bump
;; allocator behind `cabi_realloc`) from 1024.
(module
  (import "wasi:io/poll@0.2.12" "[method]pollable.block" (func $pollable_block (param i32)))
  (import "wasi:io/poll@0.2.12" "[resource-drop]pollable" (func $pollable_drop (param i32)))
  (import "wasi:io/error@0.2.12" "[resource-drop]error" (func $error_drop (param i32)))
  (import "wasi:io/streams@0.2.12" "[method]input-stream.blocking-read"
    (func $blocking_read (param i32 i64 i32)))
  (import "wasi:io/streams@0.2.12" "[method]output-stream.blocking-write-and-flush"
    (func $blocking_write (param i32 i32 i32 i32)))
  (import "wasi:io/streams@0.2.12" "[resource-drop]input-stream" (func $input_stream_drop (param i32)))
  (import "wasi:io/streams@0.2.12" "[resource-drop]output-stream" (func $output_stream_drop (param i32)))
  (import "wasi:http/types@0.2.12" "http-error-code" (func $http_error_code (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[static]fields.from-list" (func $fields_from_list (param i32 i32 i32)))
  (import "wasi:http/types@0.2.12" "[method]fields.entries" (func $fields_entries (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[resource-drop]fields" (func $fields_drop (param i32)))
  (import "wasi:http/types@0.2.12" "[constructor]outgoing-request" (func $request_new (param i32) (result i32)))
  (import "wasi:http/types@0.2.12" "[method]outgoing-request.body" (func $request_body (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[method]outgoing-request.set-method"
    (func $set_method (param i32 i32 i32 i32) (result i32)))
  (import "wasi:http/types@0.2.12" "[method]outgoing-request.set-scheme"
    (func $set_scheme (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi:http/types@0.2.12" "[method]outgoing-request.set-authority"
    (func $set_authority (param i32 i32 i32 i32) (result i32)))
  (import "wasi:http/types@0.2.12" "[method]outgoing-request.set-path-with-query"
    (func $set_path (param i32 i32 i32 i32) (result i32)))
  (import "wasi:http/types@0.2.12" "[constructor]request-options" (func $options_new (result i32)))
  (import "wasi:http/types@0.2.12" "[method]request-options.set-connect-timeout"
    (func $set_connect_timeout (param i32 i32 i64) (result i32)))
  (import "wasi:http/types@0.2.12" "[method]request-options.set-first-byte-timeout"
    (func $set_first_byte_timeout (param i32 i32 i64) (result i32)))
  (import "wasi:http/types@0.2.12" "[method]request-options.set-between-bytes-timeout"
    (func $set_between_bytes_timeout (param i32 i32 i64) (result i32)))
  (import "wasi:http/types@0.2.12" "[method]outgoing-body.write" (func $body_write (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[static]outgoing-body.finish" (func $body_finish (param i32 i32 i32 i32)))
  (import "wasi:http/types@0.2.12" "[resource-drop]outgoing-body" (func $outgoing_body_drop (param i32)))
  (import "wasi:http/types@0.2.12" "[method]future-incoming-response.subscribe"
    (func $future_subscribe (param i32) (result i32)))
  (import "wasi:http/types@0.2.12" "[method]future-incoming-response.get" (func $future_get (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[resource-drop]future-incoming-response" (func $future_drop (param i32)))
  (import "wasi:http/types@0.2.12" "[method]incoming-response.status" (func $status (param i32) (result i32)))
  (import "wasi:http/types@0.2.12" "[method]incoming-response.headers"
    (func $response_headers (param i32) (result i32)))
  (import "wasi:http/types@0.2.12" "[method]incoming-response.consume" (func $consume (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[resource-drop]incoming-response" (func $response_drop (param i32)))
  (import "wasi:http/types@0.2.12" "[method]incoming-body.stream" (func $incoming_stream (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[static]incoming-body.finish" (func $incoming_finish (param i32) (result i32)))
  (import "wasi:http/types@0.2.12" "[resource-drop]future-trailers" (func $trailers_drop (param i32)))
  (import "wasi:http/outgoing-handler@0.2.12" "handle" (func $handle (param i32 i32 i32 i32)))

  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))

  ;; A bump allocator: memory is never freed (one `fetch` per instance in the tests).
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

  ;; The result `err(http(error-code))` with the error-code at $from (32 bytes).
  (func $fail_http (param $from i32) (result i32)
    (i32.store8 (i32.const 16) (i32.const 1))
    (i32.store8 (i32.const 24) (i32.const 1))
    (memory.copy (i32.const 32) (local.get $from) (i32.const 32))
    (i32.const 16))

  ;; The result `err(http(internal-error(none)))`, for a failure the host gave no error-code for.
  (func $fail_internal (result i32)
    (i32.store8 (i32.const 16) (i32.const 1))
    (i32.store8 (i32.const 24) (i32.const 1))
    (i32.store8 (i32.const 32) (i32.const 38))
    (i32.store8 (i32.const 40) (i32.const 0))
    (i32.const 16))

  (func $fetch (export "fetch")
    (param $method_case i32) (param $method_ptr i32) (param $method_len i32)
    (param $authority_ptr i32) (param $authority_len i32)
    (param $path_ptr i32) (param $path_len i32)
    (param $headers_ptr i32) (param $headers_len i32)
    (param $body_ptr i32) (param $body_len i32)
    (param $timeout_set i32) (param $timeout i64)
    (result i32)
    (local $fields i32) (local $request i32) (local $options i32) (local $outgoing_body i32)
    (local $future i32) (local $stream i32) (local $offset i32) (local $piece i32) (local $pollable i32)
    (local $response i32) (local $incoming_body i32) (local $data i32) (local $data_len i32)
    (local $chunk_len i32) (local $error i32)

    ;; headers
    (call $fields_from_list (local.get $headers_ptr) (local.get $headers_len) (i32.const 64))
    (if (i32.load8_u (i32.const 64))
      (then
        (i32.store8 (i32.const 16) (i32.const 1))
        (i32.store8 (i32.const 24) (i32.const 0))
        (i32.store8 (i32.const 32) (i32.load8_u (i32.const 68)))
        (return (i32.const 16))))
    (local.set $fields (i32.load (i32.const 68)))

    ;; the request: method, scheme http, authority, path
    (local.set $request (call $request_new (local.get $fields)))
    (if (call $set_method (local.get $request) (local.get $method_case) (local.get $method_ptr)
          (local.get $method_len))
      (then (return (call $fail_internal))))
    (drop (call $set_scheme (local.get $request) (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0)))
    (if (call $set_authority (local.get $request) (i32.const 1) (local.get $authority_ptr)
          (local.get $authority_len))
      (then (return (call $fail_internal))))
    (if (call $set_path (local.get $request) (i32.const 1) (local.get $path_ptr) (local.get $path_len))
      (then (return (call $fail_internal))))
    (call $request_body (local.get $request) (i32.const 64))
    (if (i32.load8_u (i32.const 64)) (then unreachable))
    (local.set $outgoing_body (i32.load (i32.const 68)))

    ;; options: one timeout for connecting, the first byte and between bytes
    (if (local.get $timeout_set)
      (then
        (local.set $options (call $options_new))
        (drop (call $set_connect_timeout (local.get $options) (i32.const 1) (local.get $timeout)))
        (drop (call $set_first_byte_timeout (local.get $options) (i32.const 1) (local.get $timeout)))
        (drop (call $set_between_bytes_timeout (local.get $options) (i32.const 1) (local.get $timeout)))))

    ;; send
    (call $handle (local.get $request) (local.get $timeout_set) (local.get $options) (i32.const 64))
    (if (i32.load8_u (i32.const 64))
      (then
        (call $outgoing_body_drop (local.get $outgoing_body))
        (return (call $fail_http (i32.const 72)))))
    (local.set $future (i32.load (i32.const 72)))

    ;; the body, then finish (no trailers)
    (call $body_write (local.get $outgoing_body) (i32.const 64))
    (if (i32.load8_u (i32.const 64)) (then unreachable))
    (local.set $stream (i32.load (i32.const 68)))
    (block $written
      (loop $pieces
        (br_if $written (i32.ge_u (local.get $offset) (local.get $body_len)))
        (local.set $piece (i32.sub (local.get $body_len) (local.get $offset)))
        (if (i32.gt_u (local.get $piece) (i32.const 4096)) (then (local.set $piece (i32.const 4096))))
        (call $blocking_write (local.get $stream) (i32.add (local.get $body_ptr) (local.get $offset))
          (local.get $piece) (i32.const 64))
        (if (i32.load8_u (i32.const 64)) (then unreachable))
        (local.set $offset (i32.add (local.get $offset) (local.get $piece)))
        (br $pieces)))
    (call $output_stream_drop (local.get $stream))
    (call $body_finish (local.get $outgoing_body) (i32.const 0) (i32.const 0) (i32.const 64))
    (if (i32.load8_u (i32.const 64))
      (then
        (call $future_drop (local.get $future))
        (return (call $fail_http (i32.const 72)))))

    ;; wait for the response
    (local.set $pollable (call $future_subscribe (local.get $future)))
    (call $pollable_block (local.get $pollable))
    (call $pollable_drop (local.get $pollable))
    (call $future_get (local.get $future) (i32.const 64))
    (call $future_drop (local.get $future))
    ;; some(ok(...)) is certain after the pollable was ready and before any other get
    (if (i32.eqz (i32.load8_u (i32.const 64))) (then unreachable))
    (if (i32.load8_u (i32.const 72)) (then unreachable))
    (if (i32.load8_u (i32.const 80))
      (then (return (call $fail_http (i32.const 88)))))
    (local.set $response (i32.load (i32.const 88)))

    ;; status and headers
    (i32.store16 (i32.const 24) (call $status (local.get $response)))
    (local.set $fields (call $response_headers (local.get $response)))
    (call $fields_entries (local.get $fields) (i32.const 64))
    (i32.store (i32.const 28) (i32.load (i32.const 64)))
    (i32.store (i32.const 32) (i32.load (i32.const 68)))
    (call $fields_drop (local.get $fields))

    ;; the body, read to its end
    (call $consume (local.get $response) (i32.const 64))
    (if (i32.load8_u (i32.const 64)) (then unreachable))
    (local.set $incoming_body (i32.load (i32.const 68)))
    (call $incoming_stream (local.get $incoming_body) (i32.const 64))
    (if (i32.load8_u (i32.const 64)) (then unreachable))
    (local.set $stream (i32.load (i32.const 68)))
    (block $done
      (loop $chunks
        (call $blocking_read (local.get $stream) (i64.const 65536) (i32.const 64))
        (if (i32.load8_u (i32.const 64))
          (then
            ;; closed: the end of the body
            (br_if $done (i32.eq (i32.load8_u (i32.const 68)) (i32.const 1)))
            ;; last-operation-failed: the error-code the host gives for it
            (local.set $error (i32.load (i32.const 72)))
            (call $http_error_code (local.get $error) (i32.const 64))
            (call $error_drop (local.get $error))
            (call $input_stream_drop (local.get $stream))
            (if (i32.load8_u (i32.const 64))
              (then (return (call $fail_http (i32.const 72)))))
            (return (call $fail_internal))))
        (local.set $chunk_len (i32.load (i32.const 72)))
        (local.set $data (call $cabi_realloc (local.get $data) (local.get $data_len) (i32.const 1)
          (i32.add (local.get $data_len) (local.get $chunk_len))))
        (memory.copy (i32.add (local.get $data) (local.get $data_len)) (i32.load (i32.const 68))
          (local.get $chunk_len))
        (local.set $data_len (i32.add (local.get $data_len) (local.get $chunk_len)))
        (br $chunks)))
    (call $input_stream_drop (local.get $stream))
    (call $trailers_drop (call $incoming_finish (local.get $incoming_body)))
    (call $response_drop (local.get $response))

    (i32.store8 (i32.const 16) (i32.const 0))
    (i32.store (i32.const 36) (local.get $data))
    (i32.store (i32.const 40) (local.get $data_len))
    (i32.const 16))
)

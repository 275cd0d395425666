;; Generated from counters-core.wat and counters.wit by wasm-tools (see README.md in this directory):
;;   wasm-tools parse counters-core.wat -o core.wasm
;;   wasm-tools component embed counters.wit core.wasm -o embedded.wasm
;;   wasm-tools component new embedded.wasm -o counters.wasm
;;   wasm-tools strip --all counters.wasm | wasm-tools print > counters.wat
(component
  (type (;0;)
    (instance
      (export (;0;) "sink" (type (sub resource)))
      (type (;1;) (own 0))
      (type (;2;) (func (param "prefix" string) (result 1)))
      (export (;0;) "[constructor]sink" (func (type 2)))
      (type (;3;) (borrow 0))
      (type (;4;) (func (param "self" 3) (param "msg" string) (result u32)))
      (export (;1;) "[method]sink.write" (func (type 4)))
      (type (;5;) (func (param "name" string) (result 1)))
      (export (;2;) "open" (func (type 5)))
    )
  )
  (import "demo:counters/log" (instance (;0;) (type 0)))
  (core module (;0;)
    (type (;0;) (func (param i32 i32) (result i32)))
    (type (;1;) (func (param i32 i32 i32) (result i32)))
    (type (;2;) (func (param i32)))
    (type (;3;) (func (param i32) (result i32)))
    (type (;4;) (func (result i32)))
    (type (;5;) (func (param i32 i32 i32 i32) (result i32)))
    (import "demo:counters/log" "[constructor]sink" (func (;0;) (type 0) (param i32 i32) (result i32)))
    (import "demo:counters/log" "[method]sink.write" (func (;1;) (type 1) (param i32 i32 i32) (result i32)))
    (import "demo:counters/log" "open" (func (;2;) (type 0) (param i32 i32) (result i32)))
    (import "demo:counters/log" "[resource-drop]sink" (func (;3;) (type 2) (param i32)))
    (import "[export]demo:counters/api" "[resource-new]counter" (func (;4;) (type 3) (param i32) (result i32)))
    (memory (;0;) 1)
    (global (;0;) (mut i32) i32.const 1024)
    (global (;1;) (mut i32) i32.const 32768)
    (global (;2;) (mut i32) i32.const 0)
    (export "memory" (memory 0))
    (export "demo:counters/api#[constructor]counter" (func 6))
    (export "demo:counters/api#[static]counter.zero" (func 7))
    (export "demo:counters/api#[method]counter.add" (func 8))
    (export "demo:counters/api#total" (func 9))
    (export "demo:counters/api#dropped" (func 10))
    (export "demo:counters/api#[dtor]counter" (func 11))
    (export "cabi_realloc" (func 12))
    (func (;5;) (type 0) (param i32 i32) (result i32)
      (local i32)
      global.get 0
      local.set 2
      local.get 2
      i32.const 8
      i32.add
      global.set 0
      local.get 2
      local.get 0
      i32.store
      local.get 2
      local.get 1
      i32.store offset=4
      local.get 2
      call 4
    )
    (func (;6;) (type 3) (param i32) (result i32)
      local.get 0
      i32.const 16
      i32.const 7
      call 2
      call 5
    )
    (func (;7;) (type 4) (result i32)
      i32.const 0
      i32.const 48
      i32.const 4
      call 0
      call 5
    )
    (func (;8;) (type 0) (param i32 i32) (result i32)
      local.get 0
      i32.load offset=4
      i32.const 32
      i32.const 3
      call 1
      drop
      local.get 0
      local.get 0
      i32.load
      local.get 1
      i32.add
      i32.store
      local.get 0
      i32.load
    )
    (func (;9;) (type 3) (param i32) (result i32)
      local.get 0
      i32.load
    )
    (func (;10;) (type 4) (result i32)
      global.get 2
    )
    (func (;11;) (type 2) (param i32)
      local.get 0
      i32.load offset=4
      call 3
      global.get 2
      i32.const 1
      i32.add
      global.set 2
    )
    (func (;12;) (type 5) (param i32 i32 i32 i32) (result i32)
      (local i32)
      global.get 1
      local.get 2
      i32.const 1
      i32.sub
      i32.add
      i32.const 0
      local.get 2
      i32.sub
      i32.and
      local.set 4
      local.get 4
      local.get 3
      i32.add
      global.set 1
      local.get 4
    )
    (data (;0;) (i32.const 16) "counter")
    (data (;1;) (i32.const 32) "add")
    (data (;2;) (i32.const 48) "zero")
  )
  (core module (;1;)
    (type (;0;) (func (param i32 i32) (result i32)))
    (type (;1;) (func (param i32 i32 i32) (result i32)))
    (type (;2;) (func (param i32)))
    (table (;0;) 4 4 funcref)
    (export "0" (func 0))
    (export "1" (func 1))
    (export "2" (func 2))
    (export "3" (func 3))
    (export "$imports" (table 0))
    (func (;0;) (type 0) (param i32 i32) (result i32)
      local.get 0
      local.get 1
      i32.const 0
      call_indirect (type 0)
    )
    (func (;1;) (type 1) (param i32 i32 i32) (result i32)
      local.get 0
      local.get 1
      local.get 2
      i32.const 1
      call_indirect (type 1)
    )
    (func (;2;) (type 0) (param i32 i32) (result i32)
      local.get 0
      local.get 1
      i32.const 2
      call_indirect (type 0)
    )
    (func (;3;) (type 2) (param i32)
      local.get 0
      i32.const 3
      call_indirect (type 2)
    )
  )
  (core instance (;0;) (instantiate 1))
  (alias core export 0 "3" (core func (;0;)))
  (type (;1;) (resource (rep i32) (dtor 0)))
  (alias core export 0 "0" (core func (;1;)))
  (alias core export 0 "1" (core func (;2;)))
  (alias core export 0 "2" (core func (;3;)))
  (alias export 0 "sink" (type (;2;)))
  (core func (;4;) (canon resource.drop 2))
  (core instance (;1;)
    (export "[constructor]sink" (func 1))
    (export "[method]sink.write" (func 2))
    (export "open" (func 3))
    (export "[resource-drop]sink" (func 4))
  )
  (core func (;5;) (canon resource.new 1))
  (core instance (;2;)
    (export "[resource-new]counter" (func 5))
  )
  (core instance (;3;) (instantiate 0
      (with "demo:counters/log" (instance 1))
      (with "[export]demo:counters/api" (instance 2))
    )
  )
  (alias core export 3 "memory" (core memory (;0;)))
  (core module (;2;)
    (type (;0;) (func (param i32 i32) (result i32)))
    (type (;1;) (func (param i32 i32 i32) (result i32)))
    (type (;2;) (func (param i32)))
    (import "actual" "0" (func (;0;) (type 0) (param i32 i32) (result i32)))
    (import "actual" "1" (func (;1;) (type 1) (param i32 i32 i32) (result i32)))
    (import "actual" "2" (func (;2;) (type 0) (param i32 i32) (result i32)))
    (import "actual" "3" (func (;3;) (type 2) (param i32)))
    (import "shim" "$imports" (table (;0;) 4 4 funcref))
    (elem (;0;) (i32.const 0) func 0 1 2 3)
  )
  (alias export 0 "[constructor]sink" (func (;0;)))
  (core func (;6;) (canon lower (func 0) (memory 0) string-encoding=utf8))
  (alias export 0 "[method]sink.write" (func (;1;)))
  (core func (;7;) (canon lower (func 1) (memory 0) string-encoding=utf8))
  (alias export 0 "open" (func (;2;)))
  (core func (;8;) (canon lower (func 2) (memory 0) string-encoding=utf8))
  (alias core export 3 "demo:counters/api#[dtor]counter" (core func (;9;)))
  (core instance (;4;)
    (export "0" (func 6))
    (export "1" (func 7))
    (export "2" (func 8))
    (export "3" (func 9))
  )
  (core instance (;5;) (instantiate 2
      (with "actual" (instance 4))
      (with "shim" (instance 0))
    )
  )
  (type (;3;) (own 1))
  (type (;4;) (func (param "start" u32) (result 3)))
  (alias core export 3 "demo:counters/api#[constructor]counter" (core func (;10;)))
  (func (;3;) (type 4) (canon lift (core func 10)))
  (type (;5;) (borrow 1))
  (type (;6;) (func (param "self" 5) (param "by" u32) (result u32)))
  (alias core export 3 "demo:counters/api#[method]counter.add" (core func (;11;)))
  (func (;4;) (type 6) (canon lift (core func 11)))
  (type (;7;) (func (result 3)))
  (alias core export 3 "demo:counters/api#[static]counter.zero" (core func (;12;)))
  (func (;5;) (type 7) (canon lift (core func 12)))
  (type (;8;) (func (param "c" 5) (result u32)))
  (alias core export 3 "demo:counters/api#total" (core func (;13;)))
  (func (;6;) (type 8) (canon lift (core func 13)))
  (type (;9;) (func (result u32)))
  (alias core export 3 "demo:counters/api#dropped" (core func (;14;)))
  (func (;7;) (type 9) (canon lift (core func 14)))
  (component (;0;)
    (import "import-type-counter" (type (;0;) (sub resource)))
    (type (;1;) (own 0))
    (type (;2;) (func (param "start" u32) (result 1)))
    (import "import-constructor-counter" (func (;0;) (type 2)))
    (type (;3;) (borrow 0))
    (type (;4;) (func (param "self" 3) (param "by" u32) (result u32)))
    (import "import-method-counter-add" (func (;1;) (type 4)))
    (type (;5;) (func (result 1)))
    (import "import-static-counter-zero" (func (;2;) (type 5)))
    (type (;6;) (func (param "c" 3) (result u32)))
    (import "import-func-total" (func (;3;) (type 6)))
    (type (;7;) (func (result u32)))
    (import "import-func-dropped" (func (;4;) (type 7)))
    (export (;8;) "counter" (type 0))
    (type (;9;) (own 8))
    (type (;10;) (func (param "start" u32) (result 9)))
    (export (;5;) "[constructor]counter" (func 0) (func (type 10)))
    (type (;11;) (borrow 8))
    (type (;12;) (func (param "self" 11) (param "by" u32) (result u32)))
    (export (;6;) "[method]counter.add" (func 1) (func (type 12)))
    (type (;13;) (func (result 9)))
    (export (;7;) "[static]counter.zero" (func 2) (func (type 13)))
    (type (;14;) (func (param "c" 11) (result u32)))
    (export (;8;) "total" (func 3) (func (type 14)))
    (type (;15;) (func (result u32)))
    (export (;9;) "dropped" (func 4) (func (type 15)))
  )
  (instance (;1;) (instantiate 0
      (with "import-constructor-counter" (func 3))
      (with "import-method-counter-add" (func 4))
      (with "import-static-counter-zero" (func 5))
      (with "import-func-total" (func 6))
      (with "import-func-dropped" (func 7))
      (with "import-type-counter" (type 1))
    )
  )
  (export (;2;) "demo:counters/api" (instance 1))
)

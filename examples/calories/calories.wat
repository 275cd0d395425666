;; An Advent of Code-style puzzle, solved by hand in WebAssembly text.
;;
;; The elves wrote down the calories of the snacks each of them carries, one
;; number a line, an empty line between two elves.  Which elf carries the
;; most calories, and how many?  The input sits in linear memory (a data
;; segment at 0x100), as a file read into memory would; $solve parses it
;; byte by byte: loads, arithmetic, comparisons and branches, the stack
;; machine's whole repertoire.  _start prints the answer through WASI.
;;
;;   wasmbox run examples/calories/calories.wat                      (most calories: 24000)
;;   wasmbox run --invoke solve examples/calories/calories.wat 256 55   (24000)
;;   wasmbox trace --memory examples/calories/calories.wat
;;   wasmbox explore examples/calories/calories.wat
;;
;; Written in the flat form (one instruction a line) so that stepping through
;; it in the explorer moves one line at a time.
(module $calories
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param $fd i32) (param $iovs i32) (param $iovs_len i32) (param $written i32) (result i32)))
  (memory (export "memory") 1)

  ;; Where the input is, and how long.
  (global $input i32 (i32.const 0x100))
  (global $input_len i32 (i32.const 55))
  (data $puzzle (i32.const 0x100) "1000\n2000\n3000\n\n4000\n\n5000\n6000\n\n7000\n8000\n9000\n\n10000\n")
  (data $prefix (i32.const 0x80) "most calories: ")
  (data $newline (i32.const 0x60) "\n")

  ;; The larger of two unsigned numbers: both are pushed twice, compared, and select keeps one.
  (func $max (param $a i32) (param $b i32) (result i32)
    local.get $a
    local.get $b
    local.get $a
    local.get $b
    i32.gt_u
    select)

  ;; The most calories one elf carries, from the text at $ptr ($len bytes).
  (func $solve (export "solve") (param $ptr i32) (param $len i32) (result i32)
    (local $end i32) (local $char i32) (local $number i32) (local $elf i32) (local $best i32)
    local.get $ptr
    local.get $len
    i32.add
    local.set $end
    block $done
      loop $next_char
        ;; Past the end: stop.
        local.get $ptr
        local.get $end
        i32.ge_u
        br_if $done
        ;; char = memory[ptr]; ptr = ptr + 1
        local.get $ptr
        i32.load8_u
        local.set $char
        local.get $ptr
        i32.const 1
        i32.add
        local.set $ptr
        ;; A digit: number = number * 10 + (char - '0'), then the next character.
        local.get $char
        i32.const 10
        i32.ne
        if
          local.get $number
          i32.const 10
          i32.mul
          local.get $char
          i32.const 48
          i32.sub
          i32.add
          local.set $number
          br $next_char
        end
        ;; A newline after an empty line: this elf is done; best = max(best, elf).
        local.get $number
        i32.eqz
        if
          local.get $best
          local.get $elf
          call $max
          local.set $best
          i32.const 0
          local.set $elf
          br $next_char
        end
        ;; A newline after a number: add it to this elf's total.
        local.get $elf
        local.get $number
        i32.add
        local.set $elf
        i32.const 0
        local.set $number
        br $next_char
      end
    end
    ;; The last elf has no empty line after it.
    local.get $best
    local.get $elf
    call $max)

  ;; Write $value in decimal just before $end (digits from the last); return where it starts.
  (func $format_decimal (param $value i32) (param $end i32) (result i32)
    loop $next_digit
      local.get $end
      i32.const 1
      i32.sub
      local.tee $end
      local.get $value
      i32.const 10
      i32.rem_u
      i32.const 48
      i32.add
      i32.store8
      local.get $value
      i32.const 10
      i32.div_u
      local.tee $value
      br_if $next_digit
    end
    local.get $end)

  (func $start (export "_start")
    (local $digits i32)
    global.get $input
    global.get $input_len
    call $solve
    i32.const 0x60
    call $format_decimal
    local.set $digits
    ;; Two iovecs at 0: the prefix, then the digits and the newline after them.
    i32.const 0
    i32.const 0x80
    i32.store
    i32.const 4
    i32.const 15
    i32.store
    i32.const 8
    local.get $digits
    i32.store
    i32.const 12
    i32.const 0x61
    local.get $digits
    i32.sub
    i32.store
    ;; fd_write(stdout, iovecs, 2, where to put the count written)
    i32.const 1
    i32.const 0
    i32.const 2
    i32.const 0x20
    call $fd_write
    drop))

# The exception tag that wasi-libc's setjmp/longjmp (built with -mllvm -wasm-enable-sjlj) throws and catches.
# LLVM's runtime declares it but this wasi-libc does not define it (emscripten's compiler-rt does), so the
# link needs it from here: one tag carrying the i32 address of the jmp_buf's argument record.
.globl __c_longjmp
.tagtype __c_longjmp i32
__c_longjmp:

/* The C guest of the component oracle: the world `everything` of everything.wit, with the canonical ABI's glue
 * written by hand (no wit-bindgen).  Built by zig for wasm32-freestanding (no libc, no WASI), or for wasm32-wasi
 * with jco's preview-1 adapter, and wrapped with `wasm-tools component embed` + `component new`;
 * tests/components/guests.py has the recipes.
 *
 * Export and import names follow the component ABI's `cm32p2` mangling (BuildTargets.md): wasm-tools reads the
 * signatures below from the WIT; `wasm-tools component embed --dummy` prints them.  Structs mirror the canonical
 * ABI's memory layout: on wasm32 C's natural alignment is the ABI's (records in field order, a variant's payload
 * after its discriminant aligned to the largest case).  Memory is a bump allocator that never frees: a test
 * instance lives for a few hundred calls.
 */
#include <stddef.h>
#include <stdint.h>

typedef int32_t handle_t;

#define HOST(name) __attribute__((import_module("cm32p2|oracle:everything/host@0.1"), import_name(name)))
#define API_RESOURCE(name) __attribute__((import_module("cm32p2|_ex_oracle:everything/api@0.1"), import_name(name)))
#define EXPORT(name) __attribute__((export_name("cm32p2|oracle:everything/api@0.1|" name)))

/* ---- memory ---------------------------------------------------------------------------------------------- */

#ifdef __wasi__
/* Built for wasm32-wasi (guests.py's `c_adapted_guest`): wasi-libc owns the heap, and jco's preview-1 command
 * adapter turns the module into a WASI 0.2 command that also exports the `api` interface. */
#include <stdio.h>
#include <stdlib.h>

static void *allocate(size_t size, size_t align) {
    if (align < 8) align = 8;
    void *memory = aligned_alloc(align, (size + align - 1) / align * align + align);
    if (!memory) __builtin_trap();
    return memory;
}

int main(void) {
    puts("the oracle's guest: a library of exports, nothing to run");
    return 0;
}
#else
extern unsigned char __heap_base;
static uintptr_t heap_next = 0;

static void *allocate(size_t size, size_t align) {
    if (heap_next == 0) heap_next = (uintptr_t)&__heap_base;
    if (align == 0) align = 1;
    uintptr_t start = (heap_next + align - 1) & ~(uintptr_t)(align - 1);
    uintptr_t end = start + size;
    size_t have = __builtin_wasm_memory_size(0) * 65536;
    if (end > have) {
        size_t pages = (end - have + 65535) / 65536;
        if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) __builtin_trap();
    }
    heap_next = end;
    return (void *)start;
}
#endif

static void copy_bytes(void *to, const void *from, size_t n) {
    unsigned char *t = to;
    const unsigned char *f = from;
    for (size_t i = 0; i < n; i++) t[i] = f[i];
}

__attribute__((export_name("cm32p2_realloc"))) void *cabi_realloc(void *old, size_t old_size, size_t align,
                                                                   size_t new_size) {
    if (new_size == 0) return (void *)align;
    void *fresh = allocate(new_size, align);
    if (old) copy_bytes(fresh, old, old_size < new_size ? old_size : new_size);
    return fresh;
}

/* ---- canonical ABI types --------------------------------------------------------------------------------- */

typedef struct { uint8_t *ptr; size_t len; } string_t;
typedef struct { uint8_t *ptr; size_t len; } bytes_t;
typedef struct { string_t *ptr; size_t len; } strings_t;
typedef struct { uint32_t *ptr; size_t len; } u32s_t;
typedef struct { int16_t *ptr; size_t len; } s16s_t;
typedef struct { s16s_t *ptr; size_t len; } s16s_list_t;

typedef struct { int32_t x, y; } point_t;
typedef struct { point_t *ptr; size_t len; } points_t;
typedef struct { uint8_t is_some; string_t value; } option_string_t;
typedef struct { string_t name; point_t origin; points_t corners; option_string_t tag; } shape_t;

enum { EVENT_IDLE, EVENT_CLICK, EVENT_KEY, EVENT_TEXT, EVENT_SCROLL };
typedef struct {
    uint8_t tag;
    union { point_t click; uint32_t key; string_t text; double scroll; } as;
} event_t;

typedef struct { uint8_t is_some; int16_t value; } option_s16_t;
typedef struct { uint8_t is_err; union { uint32_t ok; string_t err; } as; } result_u32_string_t;
typedef struct { int8_t first; float second; } pair_t;

typedef struct {
    string_t title;
    uint8_t flag;
    uint8_t small;
    uint64_t wide;
    double ratio;
    uint32_t letter;
    strings_t words;
    bytes_t raw;
    shape_t shape;
    event_t event;
    uint8_t color;
    uint8_t perms;
    uint16_t mid;
    uint32_t many;
    option_s16_t maybe;
    result_u32_string_t outcome;
    pair_t pair;
} report_t;

/* ---- small helpers --------------------------------------------------------------------------------------- */

typedef struct { uint8_t *bytes; size_t len, cap; } builder_t;

static void put(builder_t *b, const void *data, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = (b->cap + n) * 2 + 16;
        b->bytes = cabi_realloc(b->bytes, b->len, 1, cap);
        b->cap = cap;
    }
    copy_bytes(b->bytes + b->len, data, n);
    b->len += n;
}

static size_t text_length(const char *text) {
    size_t n = 0;
    while (text[n]) n++;
    return n;
}

static void put_text(builder_t *b, const char *text) { put(b, text, text_length(text)); }
static void put_string(builder_t *b, string_t s) { put(b, s.ptr, s.len); }

static void put_unsigned(builder_t *b, uint64_t v) {
    char digits[24];
    int n = 0;
    do { digits[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) put(b, &digits[--n], 1);
}

static void put_signed(builder_t *b, int64_t v) {
    if (v < 0) { put_text(b, "-"); put_unsigned(b, (uint64_t)0 - (uint64_t)v); }
    else put_unsigned(b, (uint64_t)v);
}

static void put_hex(builder_t *b, uint64_t v) {
    static const char hex[] = "0123456789abcdef";
    put_text(b, "0x");
    for (int shift = 60; shift >= 0; shift -= 4) put(b, &hex[(v >> shift) & 15], 1);
}

static void put_char(builder_t *b, uint32_t c) { /* UTF-8 */
    uint8_t out[4];
    size_t n;
    if (c < 0x80) { out[0] = (uint8_t)c; n = 1; }
    else if (c < 0x800) { out[0] = 0xC0 | (c >> 6); out[1] = 0x80 | (c & 63); n = 2; }
    else if (c < 0x10000) { out[0] = 0xE0 | (c >> 12); out[1] = 0x80 | ((c >> 6) & 63); out[2] = 0x80 | (c & 63); n = 3; }
    else {
        out[0] = 0xF0 | (c >> 18); out[1] = 0x80 | ((c >> 12) & 63);
        out[2] = 0x80 | ((c >> 6) & 63); out[3] = 0x80 | (c & 63); n = 4;
    }
    put(b, out, n);
}

static string_t built(builder_t *b) { return (string_t){b->bytes, b->len}; }

static string_t literal(const char *text) {
    builder_t b = {0};
    put_text(&b, text);
    return built(&b);
}

static size_t code_points(string_t s) {
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++) n += (s.ptr[i] & 0xC0) != 0x80;
    return n;
}

static uint32_t float_bits(float f) { union { float f; uint32_t u; } v = {.f = f}; return v.u; }
static uint64_t double_bits(double d) { union { double d; uint64_t u; } v = {.d = d}; return v.u; }
static float bits_float(uint32_t u) { union { uint32_t u; float f; } v = {.u = u}; return v.f; }
static double bits_double(uint64_t u) { union { uint64_t u; double d; } v = {.u = u}; return v.d; }

/* ---- host imports ---------------------------------------------------------------------------------------- */

HOST("[constructor]sink") handle_t host_sink_new(uint8_t *prefix, size_t len);
HOST("[method]sink.write") uint32_t host_sink_write(handle_t self, uint8_t *message, size_t len);
HOST("[method]sink.name") void host_sink_name(handle_t self, string_t *out);
HOST("log") void host_log(uint8_t *message, size_t len);
HOST("mix") void host_mix(uint32_t a, int64_t b, float c, uint32_t d, string_t *e, size_t e_len, uint32_t f_is_some,
                          uint32_t f, void *out);
HOST("fetch") void host_fetch(uint8_t *key, size_t len, void *out);
HOST("open-sink") handle_t host_open_sink(uint8_t *prefix, size_t len);
HOST("sink_drop") void host_sink_drop(handle_t sink);

API_RESOURCE("counter_new") handle_t counter_new(int32_t rep);
API_RESOURCE("counter_rep") int32_t counter_rep(handle_t handle);
API_RESOURCE("counter_drop") void counter_drop(handle_t handle);

/* ---- exports: scalars ------------------------------------------------------------------------------------ */

static union { uint8_t bytes[512]; uint64_t align; } return_area;

EXPORT("flip") uint32_t flip(uint32_t x) { return !x; }

EXPORT("ints") void *ints(uint32_t a, int32_t b, uint32_t c, int32_t d, uint32_t e, int32_t f, uint64_t g, int64_t h) {
    struct { uint8_t a; int8_t b; uint16_t c; int16_t d; uint32_t e; int32_t f; uint64_t g; int64_t h; } *out =
        (void *)return_area.bytes;
    out->a = (uint8_t)(a + 1);
    out->b = (int8_t)(uint8_t)((uint32_t)b - 1);
    out->c = (uint16_t)(c * 2);
    out->d = (int16_t)(uint16_t)((uint32_t)d * 2);
    out->e = e + 1;
    out->f = (int32_t)((uint32_t)f - 1);
    out->g = g * 3;
    out->h = (int64_t)((uint64_t)h - 1);
    return out;
}

EXPORT("floats") void *floats(float a, double b) {
    struct { float a; double b; } *out = (void *)return_area.bytes;
    out->a = a * 2.0f;
    out->b = b * -1.0;
    return out;
}

EXPORT("float-bits") void *float_bits_export(float a, double b) {
    struct { uint32_t a; uint64_t b; } *out = (void *)return_area.bytes;
    out->a = float_bits(a);
    out->b = double_bits(b);
    return out;
}

EXPORT("bits-float") void *bits_float_export(uint32_t a, uint64_t b) {
    struct { float a; double b; } *out = (void *)return_area.bytes;
    out->a = bits_float(a);
    out->b = bits_double(b);
    return out;
}

EXPORT("next-char") uint32_t next_char(uint32_t c) {
    if (c == 0xD7FF) return 0xE000;
    if (c == 0x10FFFF) return 0;
    return c + 1;
}

/* ---- exports: strings and lists -------------------------------------------------------------------------- */

static uint32_t post_returns = 0; /* counted by shout's post-return: it shows in shout's next answer */

EXPORT("shout") string_t *shout(uint8_t *ptr, size_t len) {
    builder_t b = {0};
    for (size_t i = 0; i < len; i++) {
        uint8_t c = ptr[i];
        if (c >= 'a' && c <= 'z') c -= 32;
        put(&b, &c, 1);
    }
    put_text(&b, "|");
    put_unsigned(&b, len);
    put_text(&b, "|");
    put_unsigned(&b, code_points((string_t){ptr, len}));
    put_text(&b, "|post=");
    put_unsigned(&b, post_returns);
    string_t *out = (void *)return_area.bytes;
    *out = built(&b);
    return out;
}

EXPORT("shout_post") void shout_post(string_t *returned) {
    (void)returned;
    post_returns++;
}

EXPORT("reverse-bytes") bytes_t *reverse_bytes(uint8_t *ptr, size_t len) {
    uint8_t *copy = allocate(len, 1);
    for (size_t i = 0; i < len; i++) copy[i] = ptr[len - 1 - i];
    bytes_t *out = (void *)return_area.bytes;
    *out = (bytes_t){copy, len};
    return out;
}

EXPORT("tag-strings") strings_t *tag_strings(string_t *items, size_t n) {
    string_t *tagged = allocate(n * sizeof(string_t), 4);
    for (size_t i = 0; i < n; i++) {
        builder_t b = {0};
        put_unsigned(&b, i);
        put_text(&b, ":");
        put_string(&b, items[i]);
        tagged[n - 1 - i] = built(&b);
    }
    strings_t *out = (void *)return_area.bytes;
    *out = (strings_t){tagged, n};
    return out;
}

typedef struct { uint8_t is_some; u32s_t value; } option_u32s_t;
typedef struct { result_u32_string_t *ptr; size_t len; } results_t;
typedef struct { uint8_t is_some; results_t value; } option_results_t;

EXPORT("nested") option_results_t *nested(option_u32s_t *items, size_t n) {
    option_results_t *out = (void *)return_area.bytes;
    if (n == 0) { out->is_some = 0; return out; }
    result_u32_string_t *results = allocate(n * sizeof(result_u32_string_t), 4);
    for (size_t i = 0; i < n; i++) {
        if (!items[i].is_some) {
            results[i].is_err = 1;
            results[i].as.err = literal("none at this place");
        } else {
            uint32_t total = 0;
            for (size_t j = 0; j < items[i].value.len; j++) total += items[i].value.ptr[j];
            results[i].is_err = 0;
            results[i].as.ok = total;
        }
    }
    out->is_some = 1;
    out->value = (results_t){results, n};
    return out;
}

typedef struct { uint8_t is_some; option_string_t value; } option_option_string_t;

EXPORT("option-option") option_option_string_t *option_option(uint32_t outer, uint32_t inner, uint8_t *ptr, size_t len) {
    option_option_string_t *out = (void *)return_area.bytes;
    if (!outer) {
        out->is_some = 1;
        out->value.is_some = 0;
    } else if (!inner) {
        out->is_some = 1;
        out->value.is_some = 1;
        out->value.value = literal("was none");
    } else if (len == 0) {
        out->is_some = 0;
    } else {
        builder_t b = {0};
        put(&b, ptr, len);
        put(&b, ptr, len);
        out->is_some = 1;
        out->value.is_some = 1;
        out->value.value = built(&b);
    }
    return out;
}

EXPORT("list-of-lists") s16s_list_t *list_of_lists(s16s_t *lists, size_t n) {
    s16s_t *result = allocate((n + 1) * sizeof(s16s_t), 4);
    for (size_t i = 0; i < n; i++) {
        int16_t *items = allocate(lists[i].len * 2, 2);
        for (size_t j = 0; j < lists[i].len; j++) items[j] = lists[i].ptr[lists[i].len - 1 - j];
        result[i] = (s16s_t){items, lists[i].len};
    }
    int16_t *count = allocate(2, 2);
    *count = (int16_t)n;
    result[n] = (s16s_t){count, 1};
    s16s_list_t *out = (void *)return_area.bytes;
    *out = (s16s_list_t){result, n + 1};
    return out;
}

EXPORT("swap") void *swap(uint32_t a, uint8_t *ptr, size_t len, double f) {
    struct { double f; string_t s; uint8_t a; } *out = (void *)return_area.bytes;
    builder_t b = {0};
    put(&b, ptr, len);
    put_text(&b, "~");
    out->f = f;
    out->s = built(&b);
    out->a = (uint8_t)a;
    return out;
}

/* ---- exports: records, variants, enums, flags ------------------------------------------------------------- */

static shape_t moved(shape_t s, int32_t dx) {
    builder_t b = {0};
    put_string(&b, s.name);
    put_text(&b, "'");
    shape_t out;
    out.name = built(&b);
    out.origin = (point_t){s.origin.x + dx, s.origin.y};
    point_t *corners = allocate(s.corners.len * sizeof(point_t), 4);
    for (size_t i = 0; i < s.corners.len; i++) corners[i] = (point_t){s.corners.ptr[i].x + dx, s.corners.ptr[i].y};
    out.corners = (points_t){corners, s.corners.len};
    if (s.tag.is_some) out.tag.is_some = 0;
    else { out.tag.is_some = 1; out.tag.value = literal("moved"); }
    return out;
}

EXPORT("move-shape") shape_t *move_shape(uint8_t *name, size_t name_len, int32_t x, int32_t y, point_t *corners,
                                         size_t corners_len, uint32_t tag_is_some, uint8_t *tag, size_t tag_len,
                                         int32_t dx) {
    shape_t in = {{name, name_len}, {x, y}, {corners, corners_len}, {(uint8_t)tag_is_some, {tag, tag_len}}};
    shape_t *out = (void *)return_area.bytes;
    *out = moved(in, dx);
    return out;
}

static event_t next(event_t e) {
    event_t out;
    switch (e.tag) {
    case EVENT_IDLE: out.tag = EVENT_CLICK; out.as.click = (point_t){0, 0}; break;
    case EVENT_CLICK: out.tag = EVENT_KEY; out.as.key = 'A' + (uint32_t)(e.as.click.x % 26 + 26) % 26; break;
    case EVENT_KEY: {
        builder_t b = {0};
        put_char(&b, e.as.key);
        put_char(&b, e.as.key);
        out.tag = EVENT_TEXT;
        out.as.text = built(&b);
        break;
    }
    case EVENT_TEXT: out.tag = EVENT_SCROLL; out.as.scroll = (double)code_points(e.as.text) / 2.0; break;
    default: out.tag = EVENT_IDLE; break;
    }
    return out;
}

/* The flat form of `event`: the discriminant, then the cases' flat types joined (i32|f64 -> i64, then i32). */
EXPORT("next-event") event_t *next_event(uint32_t tag, uint64_t first, uint32_t second) {
    event_t in;
    in.tag = (uint8_t)tag;
    switch (tag) {
    case EVENT_CLICK: in.as.click = (point_t){(int32_t)(uint32_t)first, (int32_t)second}; break;
    case EVENT_KEY: in.as.key = (uint32_t)first; break;
    case EVENT_TEXT: in.as.text = (string_t){(uint8_t *)(uintptr_t)(uint32_t)first, second}; break;
    case EVENT_SCROLL: in.as.scroll = bits_double(first); break;
    default: break;
    }
    event_t *out = (void *)return_area.bytes;
    *out = next(in);
    return out;
}

EXPORT("next-color") uint32_t next_color(uint32_t c) { return (c + 1) % 4; }
EXPORT("flip-small") uint32_t flip_small(uint32_t f) { return ~f & 0x7; }
EXPORT("flip-medium") uint32_t flip_medium(uint32_t f) { return ~f & 0x1ff; }
EXPORT("flip-big") uint32_t flip_big(uint32_t f) { return ~f; }

/* ---- exports: options and results ------------------------------------------------------------------------ */

EXPORT("maybe-double") void *maybe_double(uint32_t is_some, uint32_t x) {
    struct { uint8_t is_some; uint32_t value; } *out = (void *)return_area.bytes;
    out->is_some = is_some && x <= 0x7fffffff;
    out->value = out->is_some ? x * 2 : 0;
    return out;
}

EXPORT("divide") void *divide(int32_t a, int32_t b) {
    struct { uint8_t is_err; union { int32_t ok; string_t err; } as; } *out = (void *)return_area.bytes;
    if (b == 0) { out->is_err = 1; out->as.err = literal("division by zero"); }
    else if (a == INT32_MIN && b == -1) { out->is_err = 1; out->as.err = literal("overflow"); }
    else { out->is_err = 0; out->as.ok = a / b; }
    return out;
}

EXPORT("unit-result") uint32_t unit_result(uint32_t ok) { return ok ? 0 : 1; }

EXPORT("err-only") void *err_only(uint32_t x) {
    struct { uint8_t is_err; uint32_t err; } *out = (void *)return_area.bytes;
    out->is_err = x % 2;
    out->err = x * 10;
    return out;
}

EXPORT("ok-only") void *ok_only(uint32_t x) {
    struct { uint8_t is_err; string_t ok; } *out = (void *)return_area.bytes;
    if (x == 0) { out->is_err = 1; return out; }
    builder_t b = {0};
    put_text(&b, "#");
    put_unsigned(&b, x);
    out->is_err = 0;
    out->ok = built(&b);
    return out;
}

/* ---- exports: flattening limits --------------------------------------------------------------------------- */

/* 18 parameters flatten to more than 16 core values: the caller stores them as a tuple and passes its address. */
typedef struct {
    uint8_t p1; int8_t p2; uint16_t p3; int16_t p4; uint32_t p5; int32_t p6; uint64_t p7; int64_t p8;
    float p9; double p10; uint32_t p11; uint8_t p12; string_t p13; bytes_t p14;
    struct { uint8_t is_some; uint32_t value; } p15;
    uint8_t p16; uint8_t p17; uint32_t p18;
} many_params_t;

EXPORT("many-params") string_t *many_params(many_params_t *p) {
    builder_t b = {0};
    put_unsigned(&b, p->p1); put_text(&b, ",");
    put_signed(&b, p->p2); put_text(&b, ",");
    put_unsigned(&b, p->p3); put_text(&b, ",");
    put_signed(&b, p->p4); put_text(&b, ",");
    put_unsigned(&b, p->p5); put_text(&b, ",");
    put_signed(&b, p->p6); put_text(&b, ",");
    put_unsigned(&b, p->p7); put_text(&b, ",");
    put_signed(&b, p->p8); put_text(&b, ",");
    put_hex(&b, float_bits(p->p9)); put_text(&b, ",");
    put_hex(&b, double_bits(p->p10)); put_text(&b, ",");
    put_char(&b, p->p11); put_text(&b, ",");
    put_text(&b, p->p12 ? "true" : "false"); put_text(&b, ",");
    put_string(&b, p->p13); put_text(&b, ",");
    for (size_t i = 0; i < p->p14.len; i++) { put_hex(&b, p->p14.ptr[i]); put_text(&b, "."); }
    put_text(&b, ",");
    if (p->p15.is_some) put_unsigned(&b, p->p15.value); else put_text(&b, "none");
    put_text(&b, ",");
    put_unsigned(&b, p->p16); put_text(&b, ",");
    put_unsigned(&b, p->p17); put_text(&b, ",");
    put_unsigned(&b, p->p18);
    string_t *out = (void *)return_area.bytes;
    *out = built(&b);
    return out;
}

EXPORT("make-report") report_t *make_report(uint32_t seed) {
    report_t *r = allocate(sizeof(report_t), 8);
    builder_t title = {0};
    put_text(&title, "report ");
    put_unsigned(&title, seed);
    put_text(&title, " — ünïcødé ✓");
    r->title = built(&title);
    r->flag = seed % 2;
    r->small = (uint8_t)(seed * 7);
    r->wide = (uint64_t)seed * 0x100000001ull;
    r->ratio = (double)seed / 8.0;
    r->letter = 0x1F600 + seed % 16;
    size_t nwords = seed % 4;
    string_t *words = allocate(nwords * sizeof(string_t), 4);
    for (size_t i = 0; i < nwords; i++) {
        builder_t w = {0};
        put_text(&w, "w");
        put_unsigned(&w, i * seed);
        words[i] = built(&w);
    }
    r->words = (strings_t){words, nwords};
    size_t nraw = seed % 7;
    uint8_t *raw = allocate(nraw, 1);
    for (size_t i = 0; i < nraw; i++) raw[i] = (uint8_t)(seed + i * 37);
    r->raw = (bytes_t){raw, nraw};
    point_t *corners = allocate(2 * sizeof(point_t), 4);
    corners[0] = (point_t){(int32_t)seed, -(int32_t)seed};
    corners[1] = (point_t){-1, INT32_MAX};
    r->shape = (shape_t){literal("square"), {-(int32_t)seed, (int32_t)seed}, {corners, 2}, {0, {0, 0}}};
    event_t e = {.tag = EVENT_IDLE};
    for (uint32_t i = 0; i < seed % 5; i++) e = next(e);
    r->event = e;
    r->color = seed % 4;
    r->perms = seed % 8;
    r->mid = (uint16_t)((seed * 37) & 0x1ff);
    r->many = seed * 0x9E3779B9u;
    r->maybe.is_some = seed % 3 != 0;
    r->maybe.value = r->maybe.is_some ? (int16_t)(-(int32_t)seed) : 0;
    if (seed % 2) { r->outcome.is_err = 1; r->outcome.as.err = literal("odd seed"); }
    else { r->outcome.is_err = 0; r->outcome.as.ok = seed / 2; }
    r->pair = (pair_t){(int8_t)(0 - (int32_t)seed), (float)seed + 0.25f};
    return r;
}

EXPORT("echo-report") report_t *echo_report(report_t *in) {
    report_t *r = allocate(sizeof(report_t), 8);
    *r = *in;
    builder_t title = {0};
    put_string(&title, in->title);
    put_text(&title, "!");
    r->title = built(&title);
    r->flag = !in->flag;
    r->small = (uint8_t)(in->small + 1);
    r->wide = in->wide ^ 0xFFFFull;
    r->ratio = in->ratio * 2.0;
    r->shape = moved(in->shape, 1);
    r->event = next(in->event);
    r->color = (in->color + 1) % 4;
    r->perms = ~in->perms & 7;
    r->mid = ~in->mid & 0x1ff;
    r->many = ~in->many;
    if (in->maybe.is_some) r->maybe.value = (int16_t)(in->maybe.value * 2);
    r->pair.first = (int8_t)(in->pair.first + 1);
    return r;
}

/* ---- exports that call the host -------------------------------------------------------------------------- */

EXPORT("call-host") string_t *call_host(uint32_t n) {
    builder_t b = {0};
    builder_t message = {0};
    put_text(&message, "call-host ");
    put_unsigned(&message, n);
    host_log(message.bytes, message.len);

    string_t words[2] = {literal("a"), literal("ünï")};
    struct { uint64_t number; string_t text; } mixed;
    host_mix(n, -(int64_t)n * 1000000000000ll, 1.5f, 0x3BB /* λ */, words, 2, n % 2 == 0, n, &mixed);
    put_text(&b, "mix=");
    put_unsigned(&b, mixed.number);
    put_text(&b, "/");
    put_string(&b, mixed.text);

    builder_t key = {0};
    put_text(&key, "key-");
    put_unsigned(&key, n);
    struct { uint8_t is_err; union { bytes_t ok; string_t err; } as; } fetched;
    host_fetch(key.bytes, key.len, &fetched);
    if (fetched.is_err) { put_text(&b, ";err="); put_string(&b, fetched.as.err); }
    else {
        put_text(&b, ";ok=");
        for (size_t i = 0; i < fetched.as.ok.len; i++) { put_unsigned(&b, fetched.as.ok.ptr[i]); put_text(&b, "."); }
    }

    string_t prefix = literal("temp");
    handle_t sink = host_sink_new(prefix.ptr, prefix.len);
    uint32_t count = host_sink_write(sink, message.bytes, message.len);
    string_t name;
    host_sink_name(sink, &name);
    host_sink_drop(sink);
    put_text(&b, ";sink=");
    put_string(&b, name);
    put_text(&b, "/");
    put_unsigned(&b, count);

    string_t *out = (void *)return_area.bytes;
    *out = built(&b);
    return out;
}

EXPORT("use-sink") uint32_t use_sink(handle_t sink, uint8_t *message, size_t len) {
    uint32_t count = host_sink_write(sink, message, len);
    host_sink_drop(sink); /* a borrow received must be given back before returning */
    return count;
}

EXPORT("consume-sink") string_t *consume_sink(handle_t sink) {
    string_t text = literal("consumed");
    uint32_t count = host_sink_write(sink, text.ptr, text.len);
    string_t name;
    host_sink_name(sink, &name);
    host_sink_drop(sink);
    builder_t b = {0};
    put_string(&b, name);
    put_text(&b, ":");
    put_unsigned(&b, count);
    string_t *out = (void *)return_area.bytes;
    *out = built(&b);
    return out;
}

EXPORT("fresh-sink") handle_t fresh_sink(uint8_t *prefix, size_t len) {
    handle_t sink = host_sink_new(prefix, len);
    string_t text = literal("fresh");
    host_sink_write(sink, text.ptr, text.len);
    return sink;
}

static handle_t kept[16];
static uint32_t kept_count = 0;

EXPORT("keep-sink") uint32_t keep_sink(uint8_t *prefix, size_t len) {
    handle_t sink = host_open_sink(prefix, len);
    if (kept_count < 16) kept[kept_count++] = sink;
    string_t text = literal("kept");
    return host_sink_write(sink, text.ptr, text.len);
}

EXPORT("release-kept") uint32_t release_kept(void) {
    uint32_t released = kept_count;
    while (kept_count) host_sink_drop(kept[--kept_count]);
    return released;
}

EXPORT("misuse-sink") void misuse_sink(handle_t sink) {
    host_sink_drop(sink);
    string_t text = literal("after drop");
    host_sink_write(sink, text.ptr, text.len); /* traps: the handle is gone */
}

/* ---- the guest's resource -------------------------------------------------------------------------------- */

typedef struct { int64_t value; } counter_t;
static uint32_t counters_dropped = 0;

EXPORT("[constructor]counter") handle_t counter_constructor(int64_t start) {
    counter_t *c = allocate(sizeof(counter_t), 8);
    c->value = start;
    return counter_new((int32_t)(uintptr_t)c);
}

EXPORT("[method]counter.add") int64_t counter_add(counter_t *self, int64_t n) {
    self->value = (int64_t)((uint64_t)self->value + (uint64_t)n);
    return self->value;
}

EXPORT("[method]counter.get") int64_t counter_get(counter_t *self) { return self->value; }

EXPORT("[method]counter.absorb") void counter_absorb(counter_t *self, counter_t *other) {
    self->value = (int64_t)((uint64_t)self->value + (uint64_t)other->value);
}

EXPORT("[static]counter.zero") handle_t counter_zero(void) { return counter_constructor(0); }

EXPORT("counter_dtor") void counter_destructor(counter_t *self) {
    self->value = -1;
    counters_dropped++;
}

EXPORT("counters-dropped") uint32_t counters_dropped_export(void) { return counters_dropped; }

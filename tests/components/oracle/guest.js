// The JavaScript guest of the component oracle: the world `everything` of everything.wit, for componentize-js
// (SpiderMonkey inside, through StarlingMonkey; ~12 MB). Built by tests/components/guests.py (`js_guest`).
//
// It answers what guest.c answers, where JavaScript allows (the oracle compares each guest between runtimes, not
// the guests with each other). jco's guest bindings give WIT types these JavaScript forms: u64/s64 as BigInt,
// other numbers as Number, char as a one-code-point string, list<u8>/list<u32>/list<s16> as typed arrays (arrays
// accepted back), tuples as arrays, records as objects (camelCase fields), variants as `{tag, val}`, enums as
// strings, flags as objects of booleans, option<T> as T or undefined (the inner option of option<option<T>> as
// `{tag: 'some' | 'none', val}`), a result as `{tag: 'ok' | 'err', val}` (a returned result may also be the ok
// value, an err thrown). Imported resources are classes whose handles are dropped by `[Symbol.dispose]()` (or,
// late, by a FinalizationRegistry); an exported resource's destructor calls its `[Symbol.dispose]()`.

import { Sink, fetch, log, mix, openSink } from 'oracle:everything/host@0.1.0';

// The symbol jco's bindings call and define (StarlingMonkey's SpiderMonkey may lack Symbol.dispose).
const dispose = Symbol.dispose || Symbol.for('dispose');

const COLORS = ['red', 'green', 'blue', 'alpha-channel'];
const SMALL = ['read', 'write', 'exec'];
const MEDIUM = Array.from({ length: 9 }, (_, i) => `m${i}`);
const BIG = Array.from({ length: 32 }, (_, i) => `b${i}`);

const kept = [];
let countersDropped = 0;

const signed = (value, bits) => Number(BigInt.asIntN(bits, BigInt(value)));
const u32 = (value) => value >>> 0;
const f32Bits = (value) => {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat32(0, value, true);
  return view.getUint32(0, true);
};
const f64Bits = (value) => {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value, true);
  return view.getBigUint64(0, true);
};
const hex16 = (bits) => `0x${bits.toString(16).padStart(16, '0')}`;
const utf8Length = (text) => new TextEncoder().encode(text).length;
const codePoints = (text) => [...text].length;

const flagsOf = (names, bits) => Object.fromEntries(names.map((name, i) => [name, ((bits >>> i) & 1) === 1]));
const bitsOf = (names, flags) => names.reduce((bits, name, i) => (flags[name] ? bits | (1 << i) : bits), 0) >>> 0;
const flipped = (names, flags) => Object.fromEntries(names.map((name) => [name, !flags[name]]));

function moved(shape, dx) {
  return {
    name: `${shape.name}'`,
    origin: { x: (shape.origin.x + dx) | 0, y: shape.origin.y },
    corners: shape.corners.map((c) => ({ x: (c.x + dx) | 0, y: c.y })),
    tag: shape.tag === undefined ? 'moved' : undefined,
  };
}

function nextEvent(e) {
  switch (e.tag) {
    case 'idle':
      return { tag: 'click', val: { x: 0, y: 0 } };
    case 'click':
      return { tag: 'key', val: String.fromCodePoint(65 + (((e.val.x % 26) + 26) % 26)) };
    case 'key':
      return { tag: 'text', val: e.val + e.val };
    case 'text':
      return { tag: 'scroll', val: codePoints(e.val) / 2 };
    default:
      return { tag: 'idle' };
  }
}

const nextColor = (color) => COLORS[(COLORS.indexOf(color) + 1) % 4];

class Counter {
  constructor(start) {
    this.value = start;
  }
  add(n) {
    this.value = BigInt.asIntN(64, this.value + n);
    return this.value;
  }
  get() {
    return this.value;
  }
  absorb(other) {
    this.value = BigInt.asIntN(64, this.value + other.value);
  }
  static zero() {
    return new Counter(0n);
  }
  // The resource's destructor (the host dropped its last handle).
  [dispose]() {
    this.value = -1n;
    countersDropped += 1;
  }
}

export const api = {
  Counter,

  flip: (x) => !x,

  ints: (a, b, c, d, e, f, g, h) => [
    (a + 1) & 0xff,
    signed(b - 1, 8),
    (c * 2) & 0xffff,
    signed(d * 2, 16),
    u32(e + 1),
    (f - 1) | 0,
    BigInt.asUintN(64, g * 3n),
    BigInt.asIntN(64, h - 1n),
  ],

  floats: (a, b) => [Math.fround(a * 2), b * -1],

  floatBits: (a, b) => [f32Bits(a), f64Bits(b)],

  bitsFloat(a, b) {
    const view = new DataView(new ArrayBuffer(8));
    view.setUint32(0, a, true);
    const single = view.getFloat32(0, true);
    view.setBigUint64(0, b, true);
    return [single, view.getFloat64(0, true)];
  },

  nextChar(c) {
    const code = c.codePointAt(0);
    if (code === 0xd7ff) return String.fromCodePoint(0xe000);
    if (code === 0x10ffff) return '\0';
    return String.fromCodePoint(code + 1);
  },

  shout(s) {
    const upper = s.replace(/[a-z]/g, (ch) => ch.toUpperCase());
    return `${upper}|${utf8Length(s)}|${codePoints(s)}|post=0`; // no post-return hook in JavaScript
  },

  reverseBytes: (bytes) => Uint8Array.from(bytes).reverse(),

  tagStrings: (xs) => xs.map((x, i) => `${i}:${x}`).reverse(),

  nested(x) {
    if (x.length === 0) return undefined;
    return x.map((item) =>
      item === undefined
        ? { tag: 'err', val: 'none at this place' }
        : { tag: 'ok', val: item.reduce((sum, n) => (sum + n) >>> 0, 0) },
    );
  },

  optionOption(x) {
    if (x.tag === 'none') return { tag: 'some', val: undefined };
    if (x.val === undefined) return { tag: 'some', val: 'was none' };
    if (x.val === '') return { tag: 'none' };
    return { tag: 'some', val: x.val + x.val };
  },

  listOfLists: (x) => [...x.map((inner) => Array.from(inner).reverse()), [x.length]],

  swap: ([a, b, c]) => [c, `${b}~`, a],

  moveShape: (s, dx) => moved(s, dx),

  nextEvent,

  nextColor,

  flipSmall: (f) => flipped(SMALL, f),
  flipMedium: (f) => flipped(MEDIUM, f),
  flipBig: (f) => flipped(BIG, f),

  maybeDouble: (x) => (x === undefined || x > 0x7fffffff ? undefined : x * 2),

  divide(a, b) {
    if (b === 0) return { tag: 'err', val: 'division by zero' };
    if (a === -(2 ** 31) && b === -1) return { tag: 'err', val: 'overflow' };
    return { tag: 'ok', val: Math.trunc(a / b) };
  },

  unitResult: (ok) => (ok ? { tag: 'ok', val: undefined } : { tag: 'err', val: undefined }),

  errOnly: (x) => (x % 2 ? { tag: 'err', val: u32(x * 10) } : { tag: 'ok', val: undefined }),

  // An err thrown (jco's other way to answer a result) rather than returned.
  okOnly(x) {
    if (x === 0) throw { payload: undefined };
    return `#${x}`;
  },

  manyParams(p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11, p12, p13, p14, p15, p16, p17, p18) {
    const parts = [p1, p2, p3, p4, p5, p6, p7, p8].map(String);
    parts.push(hex16(f32Bits(p9)), hex16(f64Bits(p10)), p11, p12 ? 'true' : 'false', p13);
    parts.push(Array.from(p14, (b) => `${hex16(b)}.`).join(''));
    parts.push(p15 === undefined ? 'none' : String(p15), String(COLORS.indexOf(p16)));
    parts.push(String(bitsOf(SMALL, p17)), String(p18));
    return parts.join(',');
  },

  makeReport(seed) {
    let event = { tag: 'idle' };
    for (let i = 0; i < seed % 5; i++) event = nextEvent(event);
    return {
      title: `report ${seed} — ünïcødé ✓`,
      flag: seed % 2 === 1,
      small: (seed * 7) & 0xff,
      wide: BigInt.asUintN(64, BigInt(seed) * 0x100000001n),
      ratio: seed / 8,
      letter: String.fromCodePoint(0x1f600 + (seed % 16)),
      words: Array.from({ length: seed % 4 }, (_, i) => `w${i * seed}`),
      raw: Uint8Array.from({ length: seed % 7 }, (_, i) => (seed + i * 37) & 0xff),
      shape: {
        name: 'square',
        origin: { x: -seed, y: seed },
        corners: [
          { x: seed, y: -seed },
          { x: -1, y: 2 ** 31 - 1 },
        ],
        tag: undefined,
      },
      event,
      color: COLORS[seed % 4],
      perms: flagsOf(SMALL, seed % 8),
      mid: flagsOf(MEDIUM, (seed * 37) & 0x1ff),
      many: flagsOf(BIG, Math.imul(seed, 0x9e3779b9) >>> 0),
      maybe: seed % 3 ? -seed : undefined,
      outcome: seed % 2 ? { tag: 'err', val: 'odd seed' } : { tag: 'ok', val: seed / 2 },
      pair: [signed(-seed, 8), Math.fround(seed + 0.25)],
    };
  },

  echoReport(r) {
    return {
      ...r,
      title: `${r.title}!`,
      flag: !r.flag,
      small: (r.small + 1) & 0xff,
      wide: r.wide ^ 0xffffn,
      ratio: r.ratio * 2,
      shape: moved(r.shape, 1),
      event: nextEvent(r.event),
      color: nextColor(r.color),
      perms: flipped(SMALL, r.perms),
      mid: flipped(MEDIUM, r.mid),
      many: flipped(BIG, r.many),
      maybe: r.maybe === undefined ? undefined : signed(r.maybe * 2, 16),
      pair: [signed(r.pair[0] + 1, 8), r.pair[1]],
    };
  },

  callHost(n) {
    const message = `call-host ${n}`;
    log(message);
    // b is positive here (the other guests send -n * 10^12): componentize-js 0.23.0 aborts the guest when it
    // lowers a negative s64 argument of an import ("Internal bindgen error in coreabi_from_bigint64 validation",
    // bytecodealliance/ComponentizeJS#343), on wasmtime as on wasmbox.
    const [number, text] = mix(n, BigInt(n) * 1000000000000n, 1.5, 'λ', ['a', 'ünï'], n % 2 === 0 ? n : undefined);
    let out = `mix=${number}/${text}`;
    try {
      out += `;ok=${Array.from(fetch(`key-${n}`), (b) => `${b}.`).join('')}`;
    } catch (error) {
      out += `;err=${error.payload}`; // an err of an imported function is thrown, its value the payload
    }
    const sink = new Sink('temp');
    const count = sink.write(message);
    const name = sink.name();
    sink[dispose]();
    return `${out};sink=${name}/${count}`;
  },

  useSink: (s, message) => s.write(message), // the borrow is given back by the bindings

  consumeSink(s) {
    const count = s.write('consumed');
    const name = s.name();
    s[dispose]();
    return `${name}:${count}`;
  },

  freshSink(prefix) {
    const sink = new Sink(prefix);
    sink.write('fresh');
    return sink;
  },

  keepSink(prefix) {
    const sink = openSink(prefix);
    kept.push(sink);
    return sink.write('kept');
  },

  releaseKept() {
    const released = kept.length;
    while (kept.length) kept.pop()[dispose]();
    return released;
  },

  // Drops an owned sink, then writes through it: the write goes out with no handle (0), which traps.
  misuseSink(s) {
    s[dispose]();
    s.write('after drop');
  },

  countersDropped: () => countersDropped,
};

// wasmbox explore: the page's own script, written for wasmbox (no framework, nothing fetched from elsewhere).
//
// Position n is the machine after step n-1 ran and before step n runs (0: nothing ran yet).  The
// page shows step n-1 as the current instruction and rebuilds the state from the checkpoint that
// opens step n's chunk plus the deltas up to n (see recording.py for the format).  A served page
// asks the server for chunks, memory windows and searches; an --html page answers them itself
// from the recording embedded in it.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const make = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const hexBytes = (hex) => {
    const bytes = new Uint8Array(hex.length / 2);
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.substr(2 * i, 2), 16);
    return bytes;
  };
  const MEMORY_WINDOW = 256;
  const CHUNKS_KEPT = 24;

  // --- where the recording comes from -------------------------------------------------------
  class ServerSource {
    constructor(token) {
      this.token = token;
    }
    async get(path, params = {}) {
      const query = new URLSearchParams({ t: this.token, ...params });
      const response = await fetch(`/api/${path}?${query}`);
      if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
      return response.json();
    }
    meta() { return this.get("meta"); }
    chunk(k) { return this.get("chunk", { k }); }
    memory(at, start, length) { return this.get("memory", { at, start, length }); }
    async find(what, at, arg = "") { return (await this.get("find", { what, at, arg })).position; }
    io(at) { return this.get("io", { at }); }
  }

  // The same answers as queries.py, from the recording embedded in the page.
  class EmbeddedSource {
    constructor(data) {
      this.data = data;
      const steps = data.meta.steps;
      this.func = new Int32Array(steps);
      this.pos = new Int32Array(steps);
      this.cont = new Int32Array(steps);
      this.parent = new Int32Array(steps);
      let i = 0;
      for (const chunk of data.chunks) {
        for (const r of chunk.records) {
          this.func[i] = r[0]; this.pos[i] = r[1]; this.cont[i] = r[3]; this.parent[i] = r[4]; i++;
        }
      }
      const memory = data.memory;
      this.writes = memory.writes.map(([step, address, hex]) => [step, address, hexBytes(hex)]);
      let largest = memory.size;
      for (const [, size] of memory.sizes) largest = Math.max(largest, size);
      this.initial = new Uint8Array(largest);
      for (const [address, hex] of memory.initial) this.initial.set(hexBytes(hex), address);
      this.image = null;
      this.imageAt = 0;
      this.applied = 0;
    }
    async meta() { return this.data.meta; }
    async chunk(k) { return this.data.chunks[k]; }
    sizeAt(at) {
      let size = this.data.memory.size;
      for (const [step, bytes] of this.data.memory.sizes) if (step < at) size = bytes;
      return size;
    }
    async memory(at, start, length) {
      if (this.image === null || at < this.imageAt) {
        this.image = this.initial.slice();
        this.applied = 0;
      }
      while (this.applied < this.writes.length && this.writes[this.applied][0] < at) {
        const [, address, bytes] = this.writes[this.applied++];
        this.image.set(bytes, address);
      }
      this.imageAt = at;
      const size = this.sizeAt(at);
      start = Math.max(0, Math.min(start, size));
      const end = Math.min(start + length, size);
      let hex = "";
      for (let a = start; a < end; a++) hex += this.image[a].toString(16).padStart(2, "0");
      return { start, hex, size };
    }
    lineOf(step) {
      const table = this.data.meta.source.lines[this.func[step] - this.data.meta.first_defined];
      return table ? table[this.pos[step]] : 0;
    }
    async find(what, at, arg = "") {
      const steps = this.data.meta.steps;
      if (what === "over") return at < steps ? this.cont[at] : null;
      if (what === "out") {
        if (at >= steps) return null;
        const parent = this.parent[at];
        return parent < 0 ? steps : this.cont[parent];
      }
      if (what === "line") {
        const lines = new Set(arg.split(",").filter((s) => s).map(Number));
        for (let s = at; s < steps; s++) if (lines.has(this.lineOf(s))) return s + 1;
        return null;
      }
      if (what === "call") {
        const func = Number(arg);
        if (func < this.data.meta.first_defined) {
          const call = this.data.calls.find(([step, f]) => f === func && step >= at);
          return call ? call[0] + 1 : null;
        }
        for (let s = at + 1; s < steps; s++) if (this.func[s] === func && this.pos[s] === 0) return s;
        return null;
      }
      if (what === "write") {
        const address = Number(arg);
        const hit = this.writes.find(([step, start, bytes]) => step >= at && start <= address && address < start + bytes.length);
        return hit ? hit[0] + 1 : null;
      }
      throw new Error(`unknown search ${what}`);
    }
    async io(at) {
      const calls = this.data.calls.filter(([step]) => step < at);
      return {
        calls: calls.slice(-40),
        calls_total: calls.length,
        output: this.data.output.filter(([step]) => step < at),
        output_truncated: false,
      };
    }
  }

  // --- the machine at a position ---------------------------------------------------------------
  // A record: [f, p, d, cont, parent, access, pops, pushes, locals, globals], trailing items left out.
  function applyRecord(state, record) {
    const [f, p, d, , , , pops = 0, pushes = [], locals = 0, globals = 0] = record;
    const frames = state.frames;
    if (pops === -1) {
      frames.length = Math.min(frames.length, d);
      while (frames.length < d) frames.push({ f: -1, p: -1, stack: [], locals: [] });
      frames.push({ f, p, stack: [], locals: [] });
    } else {
      frames.length = d + 1;
      if (pops > 0) frames[d].stack.length -= pops;
    }
    const frame = frames[d];
    frame.f = f;
    frame.p = p;
    for (const value of pushes) frame.stack.push(value);
    if (locals) for (const [index, value] of locals) frame.locals[index] = value;
    if (globals) for (const [index, value] of globals) state.globals[index] = value;
  }

  class Explorer {
    constructor(source) {
      this.source = source;
      this.chunks = new Map();
      this.position = 0;
      this.generation = 0;
      this.breakpoints = new Set();
      this.memoryStart = 0;
      this.lineNodes = [];
      this.marked = [];
    }

    async init() {
      const meta = (this.meta = await this.source.meta());
      this.steps = meta.steps;
      document.title = `wasmbox explore: ${meta.program}`;
      $("program").textContent = meta.program;
      $("status").textContent = `${meta.steps.toLocaleString("en")} steps; ${meta.status}`;
      $("total").textContent = String(meta.steps);
      $("slider").max = String(meta.steps);
      $("position").max = String(meta.steps);
      $("source-kind").textContent = meta.source.kind === "wat" ? "as written" : "printed from the binary";
      this.drawCode();
      const select = $("call-target");
      meta.functions.forEach((func, index) => {
        const option = make("option", "", `${func.name}${func.imported ? " (host)" : ""}`);
        option.value = String(index);
        select.append(option);
      });
      this.bind();
      await this.goto(0);
    }

    lineOf(f, p) {
      if (f < this.meta.first_defined) return 0;
      const table = this.meta.source.lines[f - this.meta.first_defined];
      return table ? table[p] : 0;
    }

    drawCode() {
      const code = $("code");
      const withCode = new Set();
      for (const table of this.meta.source.lines) if (table) for (const line of table) withCode.add(line);
      const fragment = document.createDocumentFragment();
      this.meta.source.text.split("\n").forEach((text, i) => {
        const number = i + 1;
        const line = make("div", withCode.has(number) ? "line has-code" : "line");
        line.dataset.line = String(number);
        line.append(make("span", "ln", String(number)));
        const body = make("span", "tx");
        const comment = commentStart(text);
        if (comment < 0) body.textContent = text || " ";
        else body.append(text.slice(0, comment), make("span", "comment", text.slice(comment)));
        line.append(body);
        fragment.append(line);
        this.lineNodes[number] = line;
      });
      code.append(fragment);
    }

    chunk(k) {
      let chunk = this.chunks.get(k);
      if (chunk === undefined) {
        chunk = this.source.chunk(k);
        this.chunks.set(k, chunk);
        chunk.catch(() => this.chunks.delete(k));
        if (this.chunks.size > CHUNKS_KEPT) this.chunks.delete(this.chunks.keys().next().value);
      }
      return chunk;
    }

    async record(step) {
      const size = this.meta.chunk_size;
      const chunk = await this.chunk(Math.floor(step / size));
      return chunk.records[step - chunk.start];
    }

    async stateAt(position) {
      if (position >= this.steps) {
        return { frames: [], globals: this.meta.final_globals.slice(), finished: true };
      }
      const chunk = await this.chunk(Math.floor(position / this.meta.chunk_size));
      const state = {
        frames: chunk.state.frames.map((f) => ({ f: f.f, p: f.p, stack: f.stack.slice(), locals: f.locals.slice() })),
        globals: chunk.state.globals.slice(),
      };
      for (let step = chunk.start + 1; step <= position; step++) applyRecord(state, chunk.records[step - chunk.start]);
      return state;
    }

    // Show position n; resolves once the page shows it (a later call wins over an earlier one).
    async goto(position) {
      position = Math.max(0, Math.min(this.steps, Math.round(Number(position) || 0)));
      const generation = ++this.generation;
      const [state, current, next] = await Promise.all([
        this.stateAt(position),
        position > 0 ? this.record(position - 1) : null,
        position < this.steps ? this.record(position) : null,
      ]);
      if (generation !== this.generation) return;
      const access = current && current[5] ? current[5] : [];
      if (access.length) this.focusMemory(access[0][1], access[0][2]);
      const [memory, io] = await Promise.all([
        this.meta.memory_size || access.length ? this.source.memory(position, this.memoryStart, MEMORY_WINDOW) : null,
        this.source.io(position),
      ]);
      if (generation !== this.generation) return;
      this.position = position;
      this.view = { state, current, next, access, memory };
      $("slider").value = String(position);
      $("position").value = String(position);
      this.drawCurrent(current, next);
      this.drawMachine(state, next);
      this.drawMemory(memory, access);
      this.drawIo(io);
    }

    focusMemory(address, length) {
      const inside = address >= this.memoryStart && address + length <= this.memoryStart + MEMORY_WINDOW;
      if (!inside) this.memoryStart = Math.max(0, (address & ~15) - 64);
    }

    describe(record) {
      const [f, p] = record;
      const func = this.meta.functions[f];
      const src = func.src && func.src[p] >= 0 ? this.meta.source_lines[func.src[p]] : "";
      return { func, text: func.instrs[p], offset: func.offsets[p], line: this.lineOf(f, p), src };
    }

    drawCurrent(current, next) {
      for (const node of this.marked) node.classList.remove("current", "next");
      this.marked = [];
      const box = $("current");
      box.textContent = "";
      const mark = (record, className) => {
        const node = this.lineNodes[this.lineOf(record[0], record[1])];
        if (node) {
          node.classList.add(className);
          this.marked.push(node);
        }
        return node;
      };
      let focus = null;
      if (current) {
        const what = this.describe(current);
        focus = mark(current, "current");
        Object.assign(box.dataset, {
          step: String(this.position), func: what.func.name, instr: what.text,
          offset: String(what.offset), line: String(what.line),
        });
        box.append(
          make("span", "where", `step ${this.position}: ran in ${what.func.name} @0x${what.offset.toString(16).padStart(4, "0")}` +
            (what.line ? `, line ${what.line}` : "")),
          make("strong", "", what.text),
        );
        if (what.src) {
          const [place, ...text] = what.src.split("  ");
          const short = place.split("/").slice(-2).join("/");  // the file and its directory
          const node = make("span", "source", `${short}  ${text.join("  ")}`);
          node.title = place;
          box.append(node);
        }
        box.dataset.source = what.src;
      } else {
        box.dataset.step = "0";
        box.append(make("span", "where", "step 0: nothing has run yet"));
      }
      if (next) {
        const what = this.describe(next);
        const node = mark(next, "next");
        focus = focus || node;
        box.append(make("span", "where", `next: ${what.text} in ${what.func.name}`));
      } else if (this.position >= this.steps) {
        box.append(make("span", "where", `the run is over: ${this.meta.status}`));
      }
      if (focus) scrollIntoViewIfNeeded(focus, $("code-pane"));
    }

    drawMachine(state, next) {
      const frames = state.frames;
      const top = frames[frames.length - 1];
      const stackList = $("stack");
      stackList.textContent = "";
      const stack = state.finished ? this.meta.results : top ? top.stack : [];
      const pushed = next && next[6] !== -1 && next[7] ? next[7].length : 0;
      for (let i = stack.length - 1; i >= 0; i--) {
        const [type, value] = splitValue(stack[i]);
        const item = make("li", i >= stack.length - pushed ? "pushed" : "");
        item.dataset.value = stack[i];
        item.append(make("span", "type", type), make("span", "value", value));
        stackList.append(item);
      }
      const changedLocals = new Set(next && next[6] !== -1 && next[8] ? next[8].map(([index]) => index) : []);
      const locals = $("locals");
      locals.textContent = "";
      if (top && top.f >= this.meta.first_defined) {
        const names = this.meta.functions[top.f].locals;
        top.locals.forEach((text, index) => locals.append(valueRow(names[index], text, changedLocals.has(index))));
      }
      const changedGlobals = new Set(next && next[9] ? next[9].map(([index]) => index) : []);
      const globals = $("globals");
      globals.textContent = "";
      state.globals.forEach((text, index) => globals.append(valueRow(this.meta.globals[index], text, changedGlobals.has(index))));
      const list = $("frames");
      list.textContent = "";
      for (let i = frames.length - 1; i >= 0; i--) {
        const frame = frames[i];
        const func = this.meta.functions[frame.f];
        const item = make("li", "", func ? func.name : "(host)");
        if (func && !func.imported) {
          const line = this.lineOf(frame.f, frame.p);
          item.append(make("span", "at", `  ${func.instrs[frame.p]}${line ? `, line ${line}` : ""}`));
        }
        list.append(item);
      }
    }

    drawMemory(memory, access) {
      const pane = $("memory");
      pane.textContent = "";
      if (!memory) {
        $("memory-size").textContent = "(this module has no memory)";
        return;
      }
      $("memory-size").textContent = `${memory.size.toLocaleString("en")} bytes`;
      $("memory-address").value = `0x${memory.start.toString(16)}`;
      const bytes = hexBytes(memory.hex);
      const kindAt = (address) => {
        let kind = "";
        for (const [k, start, length] of access) if (address >= start && address < start + length) kind = k;
        if (kind) return kind;
        for (const [start, length] of this.meta.segments) if (address >= start && address < start + length) return "seg";
        return "";
      };
      const fragment = document.createDocumentFragment();
      for (let row = 0; row < bytes.length; row += 16) {
        const line = make("div", "row");
        const base = memory.start + row;
        line.append(make("span", "addr", base.toString(16).padStart(8, "0")));
        const ascii = make("span", "ascii");
        for (let i = row; i < Math.min(row + 16, bytes.length); i++) {
          const kind = kindAt(memory.start + i);
          const cell = make("span", `cell ${kind}`, bytes[i].toString(16).padStart(2, "0"));
          cell.dataset.addr = String(memory.start + i);
          line.append(cell);
          const c = bytes[i];
          ascii.append(make("span", `ch ${kind}`, c >= 32 && c < 127 ? String.fromCharCode(c) : "."));
        }
        line.append(ascii);
        fragment.append(line);
      }
      pane.append(fragment);
    }

    drawIo(io) {
      const calls = $("calls");
      calls.textContent = "";
      $("calls-total").textContent = io.calls_total ? `${io.calls_total} so far` : "";
      for (const [step, func, args, results] of io.calls) {
        const item = make("li");
        const name = this.meta.functions[func].name;
        item.append(make("span", "step", `step ${step + 1}  `), `${name}(${args.join(", ")}) → ${results.join(", ") || "()"}`);
        calls.append(item);
      }
      const output = $("output");
      output.textContent = "";
      for (const [, fd, text] of io.output) output.append(make("span", `fd${fd}`, text));
      output.scrollTop = output.scrollHeight;
    }

    async search(what, arg = "") {
      $("message").textContent = "";
      const found = await this.source.find(what, this.position, arg);
      if (found === null || found === undefined) {
        $("message").textContent = {
          line: "no breakpoint is reached after this step",
          call: "that function is not called after this step",
          write: "that address is not written after this step",
        }[what] || "nowhere to go";
        return;
      }
      await this.goto(found);
    }

    runToBreakpoint() {
      if (this.breakpoints.size === 0) {
        $("message").textContent = "click a line number to set a breakpoint";
        return Promise.resolve();
      }
      return this.search("line", [...this.breakpoints].join(","));
    }

    async showMemory(start) {
      this.memoryStart = Math.max(0, start);
      const memory = await this.source.memory(this.position, this.memoryStart, MEMORY_WINDOW);
      this.drawMemory(memory, this.view ? this.view.access : []);
    }

    bind() {
      const go = (delta) => () => this.goto(this.position + delta);
      $("step").onclick = go(1);
      $("back").onclick = go(-1);
      $("to-start").onclick = () => this.goto(0);
      $("to-end").onclick = () => this.goto(this.steps);
      $("over").onclick = () => this.search("over");
      $("out").onclick = () => this.search("out");
      $("run").onclick = () => this.runToBreakpoint();
      $("slider").oninput = (event) => this.goto(event.target.value);
      $("position").onchange = (event) => this.goto(event.target.value);
      $("find-write").onclick = () => {
        const address = parseAddress($("write-address").value);
        if (address === null) $("message").textContent = "an address: 256 or 0x100";
        else this.search("write", String(address));
      };
      $("find-call").onclick = () => this.search("call", $("call-target").value);
      $("memory-up").onclick = () => this.showMemory(this.memoryStart - MEMORY_WINDOW);
      $("memory-down").onclick = () => this.showMemory(this.memoryStart + MEMORY_WINDOW);
      $("memory-address").onchange = (event) => {
        const address = parseAddress(event.target.value);
        if (address !== null) this.showMemory(address & ~15);
      };
      $("code").onclick = (event) => {
        const number = event.target.closest(".ln");
        const line = number && number.parentElement;
        if (!line || !line.classList.contains("has-code")) return;
        const n = Number(line.dataset.line);
        if (this.breakpoints.has(n)) this.breakpoints.delete(n);
        else this.breakpoints.add(n);
        line.classList.toggle("bp", this.breakpoints.has(n));
      };
      document.addEventListener("keydown", (event) => {
        if (event.target.closest && event.target.closest("input, select")) return;
        const action = {
          ArrowRight: go(1), ArrowLeft: go(-1), Home: () => this.goto(0), End: () => this.goto(this.steps),
          n: () => this.search("over"), o: () => this.search("out"), c: () => this.runToBreakpoint(),
        }[event.key];
        if (action) {
          event.preventDefault();
          action();
        }
      });
    }
  }

  function splitValue(text) {
    const colon = text.indexOf(":");
    return colon < 0 ? ["", text] : [text.slice(0, colon), text.slice(colon + 1)];
  }

  function valueRow(name, text, changed) {
    const row = make("tr", changed ? "changed" : "");
    const [type, value] = splitValue(text);
    row.dataset.value = text;
    row.append(make("td", "name", name), make("td", "type", type), make("td", "value", value));
    return row;
  }

  function parseAddress(text) {
    text = text.trim();
    if (!/^(0x[0-9a-f]+|\d+)$/i.test(text)) return null;
    return Number(text);
  }

  // Where a ";;" comment starts on a line of WAT, outside strings (-1: none).
  function commentStart(text) {
    let inString = false;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (inString) {
        if (c === "\\") i++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === ";" && text[i + 1] === ";") return i;
    }
    return -1;
  }

  function scrollIntoViewIfNeeded(node, pane) {
    const box = node.getBoundingClientRect();
    const view = pane.getBoundingClientRect();
    if (box.top < view.top + 30 || box.bottom > view.bottom - 30) {
      pane.scrollTop += box.top - view.top - view.height / 3;
    }
  }

  const mode = document.documentElement.dataset.mode;
  const source =
    mode === "embedded"
      ? new EmbeddedSource(JSON.parse($("recording").textContent))
      : new ServerSource(new URLSearchParams(location.search).get("t") || "");
  const explorer = new Explorer(source);
  window.explorer = explorer;
  explorer.ready = explorer.init().catch((error) => {
    $("message").textContent = `cannot load the recording: ${error.message}`;
    throw error;
  });
})();

"""The ``wasmbox`` command line: ``wat2wasm``, ``wasm2wat``, ``validate``, ``objdump``.

Errors are printed as ``wasmbox: error: FILE:LINE:COL: message`` (or
``FILE @0xOFFSET`` for binaries) and end the command with status 1.
"""

from __future__ import annotations

import argparse
import errno
import gc
import os
import sys
from typing import TYPE_CHECKING, Any

from .binary.decode import decode_module, instruction_offset
from .engines.registry import ENGINE_CLASSES
from .errors import MalformedError, Trap, ValidationError, WasiExit, WasmError
from .features import FEATURES, feature_set
from .interrupts import INTERRUPTED, StopOnSigint
from .ir.module import Module
from .ir.types import F32, F64, I32, I64, ValType
from .load import is_binary, load_module, load_module_file
from .validate import validate_module

if TYPE_CHECKING:
    import socket

    from .runtime.observer import Observer
    from .wasi import WasiConfig

# What only some commands use (the text printer, the encoder, the .wast driver, sockets, the
# explorer) is imported by those commands: `wasmbox run`'s start-up pays for what a run needs.


EXIT_INTERRUPTED = 130  # as a shell reports a process ended by SIGINT


def _fail(message: str) -> int:
    print(f"wasmbox: error: {message}", file=sys.stderr)
    return 1


def _describe(error: WasmError, path: str) -> str:
    text = str(error)
    if isinstance(error, MalformedError) and error.source is None:
        return f"{path}: {text}"
    if isinstance(error, ValidationError):
        return f"{path}: invalid module: {text}"
    return text


def _component_source(path: str) -> bytes | None:
    """The file's bytes when it holds a component (binary or text), else None."""
    from pathlib import Path

    from .component.load import is_component_source

    data = Path(path).read_bytes()
    return data if is_component_source(data) else None


def cmd_wat2wasm(args: argparse.Namespace) -> int:
    from pathlib import Path

    component_data = _component_source(args.input)
    if component_data is not None:
        from .component.encode import encode_component
        from .component.load import load_component
        from .component.validate import validate_component

        component = load_component(component_data, args.input, args.features)
        if not args.no_check:
            validate_component(component)
        output = args.output or str(Path(args.input).with_suffix(".wasm"))
        Path(output).write_bytes(encode_component(component))
        return 0
    from .binary.encode import encode_module

    module = load_module_file(args.input, features=args.features)
    if not args.no_check:
        validate_module(module)
    if args.no_debug_names:
        module.names.functions.clear()
        module.names.locals.clear()
        module.names.module = None
    output = args.output or str(Path(args.input).with_suffix(".wasm"))
    Path(output).write_bytes(encode_module(module))
    return 0


def cmd_wasm2wat(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .text.printer import print_module

    data = Path(args.input).read_bytes()
    from .component.decode import is_component

    if is_component(data):
        from .component.load import load_component
        from .component.printer import print_component
        from .component.validate import validate_component

        component = load_component(data, args.input, args.features)
        if not args.no_check:
            validate_component(component)
        text = print_component(component)
    else:
        module = decode_module(data, args.features)
        if not args.no_check:
            validate_placed(module, data)
        text = print_module(module)
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def validate_placed(module: Module, data: bytes) -> None:
    """Validate; errors in a binary's code are placed at their byte offset."""
    try:
        validate_module(module)
    except ValidationError as error:
        if error.func_index is None or error.instruction is None or not is_binary(data):
            raise
        local_index = error.func_index - module.num_imported_funcs()
        offset = instruction_offset(data, module.funcs[local_index], error.instruction)
        raise (error if offset is None else error.at_offset(offset)) from None


def cmd_validate(args: argparse.Namespace) -> int:
    from pathlib import Path

    component_data = _component_source(args.input)
    if component_data is not None:
        from .component.load import load_component
        from .component.validate import validate_component

        validate_component(load_component(component_data, args.input, args.features))
        if args.verbose:
            print(f"{args.input}: valid")
        return 0
    data = Path(args.input).read_bytes()
    # As Module does: bodies stay bytes, a large module's checked by the native validator.
    module = load_module(data, args.input, lazy=True, features=args.features)
    validate_placed(module, data)
    if args.verbose:
        print(f"{args.input}: valid")
    return 0


def cmd_objdump(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .inspect.objdump import objdump_lines

    data = Path(args.input).read_bytes()
    if not is_binary(data):
        return _fail(f"{args.input}: not a WebAssembly binary (objdump reads .wasm files)")
    if not (args.headers or args.details or args.disassemble):
        return _fail("objdump: at least one of -h, -x or -d is required")
    from .component.decode import is_component

    if is_component(data):
        from .component.objdump import component_objdump_lines

        for line in component_objdump_lines(data, Path(args.input).name, args.headers, args.details):
            sys.stdout.write(line + "\n")
        return 0
    for line in objdump_lines(data, Path(args.input).name, args.headers, args.details, args.disassemble):
        sys.stdout.write(line + "\n")
    return 0


def cmd_wast(args: argparse.Namespace) -> int:  # noqa: D103
    from pathlib import Path

    from .wast import run_script

    paths: list[Path] = []
    for name in args.paths:
        path = Path(name)
        paths.extend(sorted(path.rglob("*.wast")) if path.is_dir() else [path])
    passed = failed = unsupported = 0
    for path in paths:
        result = run_script(path, args.engine, args.features)
        passed += result.passed
        failed += result.failed
        unsupported += result.unsupported
        extra = f", {result.unsupported} unsupported" if result.unsupported else ""
        print(f"{path}: {result.passed} passed, {result.failed} failed{extra}")
        for failure in result.failures[: args.show]:
            print(f"  {failure}")
    # Unsupported commands (component instantiation) are neither passed nor failed.
    print(f"{passed} passed, {failed} failed" + (f", {unsupported} unsupported" if unsupported else ""))
    return 1 if failed else 0


def _parse_argument(text: str, t: ValType) -> object:
    if t in (I32, I64):
        return int(text, 0)
    if t in (F32, F64):
        return float(text)
    raise ValueError(f"cannot pass a {t.text} argument from the command line")


def _wasi_config(args: argparse.Namespace) -> WasiConfig:
    """The guest's view of the host from ``--dir``, ``--env`` and ``--tcplisten``, as ``wasmtime run`` builds it."""
    from .wasi import Preopen, WasiConfig

    preopens: dict[str, Preopen] = {}
    for spec, read_only in [(d, False) for d in args.dir] + [(d, True) for d in args.ro_dir]:
        host, _, guest = spec.partition("::")
        preopens[guest or host] = Preopen(host, read_only=read_only)
    env: dict[str, str] = {}
    for item in args.env:
        key, equals, value = item.partition("=")
        if not equals:
            if key not in os.environ:
                continue
            value = os.environ[key]
        env[key] = value
    sockets = [_listen(address) for address in args.tcplisten]
    return WasiConfig(argv=[args.input, *args.args], env=env, preopens=preopens, sockets=sockets)


def _listen(address: str) -> socket.socket:
    import socket

    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise OSError(errno.EINVAL, "expected HOST:PORT", address)
    listener = socket.create_server((host.strip("[]"), int(port)))
    return listener


def execute(args: argparse.Namespace, observer: Observer | None = None) -> int:
    """Run PROG as ``wasmbox run`` does (``_start`` with WASI, or ``--invoke``); the exit status.

    The tracer, debugger and profiler run programs through here with their
    observer on the store, so every command treats PROG and ARGS alike.
    """
    from .api import Func, Linker, Module, Store

    if args.fuel is not None and args.fuel < 0:
        return _fail("--fuel must not be negative")
    try:
        # Always interruptible: Ctrl-C stops the guest (see interrupts.StopOnSigint).
        store = Store(args.engine, deadline=args.timeout, fuel=args.fuel, observer=observer, interruptible=True)
    except ValueError as error:
        return _fail(str(error))
    module = Module.from_file(args.input, features=args.features)
    linker = Linker(store)
    config = _wasi_config(args)
    if args.invoke is not None:
        config.argv = [args.input]
    wasi = linker.define_wasi(config)
    sigint = StopOnSigint(store)
    try:
        sigint.__enter__()
        instance = linker.instantiate(module)
        if observer is not None:
            observer.attach(instance._instance)
        if args.invoke is None:
            start = instance.exports.get("_start")
            if not isinstance(start, Func):
                return _fail(f"{args.input}: no _start function (use --invoke NAME)")
            start()
            return 0
        target = instance.exports.get(args.invoke)
        if not isinstance(target, Func):
            return _fail(f"{args.input}: no exported function {args.invoke!r}")
        params = target.type.params
        if len(args.args) != len(params):
            return _fail(f"{args.invoke} takes {len(params)} arguments, got {len(args.args)}")
        try:
            values = [_parse_argument(a, t) for a, t in zip(args.args, params, strict=True)]
            result = target(*values)  # a value its type cannot hold is a TypeError
        except (ValueError, TypeError) as error:
            return _fail(f"bad argument: {error}")
    except WasiExit as exit_:
        if observer is not None:
            observer.unwound(exit_)
        return exit_.code
    except Trap as trap:
        if observer is not None:
            observer.unwound(trap)
        if sigint.interrupted and trap.kind == INTERRUPTED:
            print(f"wasmbox: interrupted{_backtrace(trap)}", file=sys.stderr)
            return EXIT_INTERRUPTED
        return _fail(f"{args.input}: wasm trap: {trap}")
    finally:
        sigint.__exit__(None, None, None)
        wasi.close()
    if result is not None:
        for value in result if isinstance(result, tuple) else (result,):
            print(value)
    return 0


def _backtrace(trap: Trap) -> str:
    text = str(trap)
    at = text.find("\nwasm backtrace:")
    return text[at:] if at >= 0 else ""


def cmd_run(args: argparse.Namespace) -> int:
    if _is_component_file(args.input):
        from .wasip2.command import run_component_file

        return run_component_file(args)
    return execute(args)


def _is_component_file(path: str) -> bool:
    """Whether ``path`` holds a component (a binary with preamble layer 1, or text starting
    ``(component``) rather than a core module."""
    try:
        with open(path, "rb") as file:
            head = file.read(4096)
    except OSError:
        return False
    if head[:4] == b"\0asm":
        return head[6:8] == b"\x01\x00"
    lines = [line.strip() for line in head.decode("utf-8", "replace").splitlines()]
    text = " ".join(line for line in lines if line and not line.startswith(";;"))
    return text.startswith("(component")


def cmd_trace(args: argparse.Namespace) -> int:
    from .inspect.trace import TraceLimitReached, Tracer
    from .load import load_module_file

    out = open(args.output, "w") if args.output else sys.stderr  # noqa: SIM115 - closed below
    try:
        tracer = Tracer(
            load_module_file(args.input),
            out,
            functions=set(args.func) if args.func else None,
            limit=args.limit,
            memory=args.memory,
            as_json=args.json,
        )
        return execute(args, tracer)
    except TraceLimitReached as reached:
        print(f"wasmbox trace: stopped after {reached.args[0]} lines (--limit)", file=sys.stderr)
        return 0
    except ValueError as error:
        return _fail(str(error))
    finally:
        if out is not sys.stderr:
            out.close()


def cmd_debug(args: argparse.Namespace) -> int:
    from .inspect.debug import Debugger, DebuggerQuit
    from .load import load_module_file

    commands = open(args.commands) if args.commands else None  # noqa: SIM115 - closed below
    try:
        debugger = Debugger(load_module_file(args.input), commands or sys.stdin, sys.stdout, echo=commands is not None)
        if not debugger.before_run():
            return 0
        try:
            status = execute(args, debugger)
        except DebuggerQuit:
            print("[program stopped by quit]")
            return 0
        debugger.finished(status)
        return status
    finally:
        if commands is not None:
            commands.close()


def cmd_profile(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .inspect.profile import Profiler
    from .load import load_module_file

    profiler = Profiler(load_module_file(args.input), Path(args.input).name)
    status = execute(args, profiler)
    profiler.unwound()
    print(profiler.table(), file=sys.stderr)
    if args.speedscope:
        Path(args.speedscope).write_text(profiler.speedscope())
    if args.collapsed:
        Path(args.collapsed).write_text(profiler.collapsed())
    if args.svg:
        Path(args.svg).write_text(profiler.flamegraph_svg())
    return status


def _features_argument(text: str) -> frozenset[str]:
    """``--features``: a set by name (``2.0``, ``all``) or feature names separated by commas."""
    try:
        return feature_set(text if text in FEATURES else [name.strip() for name in text.split(",")])
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _features_option(p: argparse.ArgumentParser, default: str, help_text: str) -> None:
    p.add_argument(
        "--features",
        default=default,
        type=_features_argument,
        metavar="SET",
        help=f"{help_text}; or feature names separated by commas (default: {default})",
    )


def cmd_explore(args: argparse.Namespace) -> int:
    from .inspect.explore.command import cmd_explore as explore

    return explore(args)


# Every command's name (``build_parser`` defines each; a test checks the two agree).
COMMANDS = (
    "wat2wasm",
    "wasm2wat",
    "validate",
    "objdump",
    "run",
    "trace",
    "debug",
    "profile",
    "explore",
    "wit",
    "component",
    "wast",
)


def _program_arguments(p: argparse.ArgumentParser) -> None:
    """The options every command that runs a program takes, then PROG and its ARGS."""
    p.add_argument("--engine", default="auto", help="execution engine (default: the fastest available)")
    _features_option(p, "all", "what the program may use: 2.0 (the WebAssembly 2.0 standard) or all")
    p.add_argument("--invoke", metavar="NAME", help="call this export with ARGS and print its results")
    p.add_argument("--timeout", type=float, metavar="S", help="stop the program after S seconds (a trap)")
    p.add_argument("--fuel", type=int, metavar="N", help="stop the program after N instructions (a trap)")
    p.add_argument(
        "--dir",
        action="append",
        default=[],
        metavar="HOST[::GUEST]",
        help="grant the guest the host directory HOST, seen as GUEST (default: HOST)",
    )
    p.add_argument(
        "--ro-dir",
        action="append",
        default=[],
        metavar="HOST[::GUEST]",
        help="grant a directory read-only: nothing in it can be created, changed or removed",
    )
    p.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="set an environment variable for the guest (NAME alone: the host's value)",
    )
    p.add_argument(
        "--allow-http",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="components: let the guest send wasi:http requests to HOST (any port, or PORT only; * for any host)",
    )
    for protocol in ("tcp", "udp"):
        p.add_argument(
            f"--allow-{protocol}",
            action="append",
            default=[],
            metavar="ADDR[/PREFIX][:PORT]",
            help=f"components: let wasi:sockets use {protocol.upper()} with these addresses ([v6]:PORT; * for any)",
        )
    p.add_argument(
        "--allow-ip-name-lookup",
        action="append",
        default=[],
        metavar="NAME",
        help="components: let wasi:sockets resolve NAME (* for any name)",
    )
    p.add_argument(
        "--tcplisten",
        action="append",
        default=[],
        metavar="HOST:PORT",
        help="listen on HOST:PORT and hand the socket to the guest (after the preopened directories)",
    )


def _program_operands(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", metavar="PROG")
    p.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS")


def _terminal_columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` gives it (``COLUMNS``, else the terminal
    of standard output, else 80), without importing ``shutil`` (and the compression modules it
    imports: ~3 ms of every run's start, for a width only ``--help`` uses)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's help layout, with the width from ``_terminal_columns`` (argparse makes a formatter
    for every argument it is given, and its own imports ``shutil`` for the width)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None):
        super().__init__(prog, indent_increment, max_help_position, _terminal_columns() - 2 if width is None else width)


class _ArgumentParser(argparse.ArgumentParser):
    """A parser (and, through ``add_subparsers``, its commands' parsers) using ``_HelpFormatter``
    unless told otherwise."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser; with ``only``, just that command's (``main`` builds only the
    command it runs: argparse's parsers cost milliseconds each, a tenth of a small program's run)."""
    from . import __version__

    def wanted(name: str) -> bool:
        return only is None or name == only

    parser = _ArgumentParser(prog="wasmbox", description="A WebAssembly toolkit and runtime.")
    parser.add_argument("--version", action="version", version=f"wasmbox {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    if wanted("wat2wasm"):
        p = commands.add_parser("wat2wasm", help="assemble a .wat text module into a .wasm binary")
        p.add_argument("input")
        p.add_argument("-o", "--output", help="output file (default: INPUT with .wasm)")
        p.add_argument("--no-check", action="store_true", help="skip validation")
        p.add_argument("--no-debug-names", action="store_true", help="leave out the name section")
        _features_option(p, "all", "what the module may use: 2.0 (the WebAssembly 2.0 standard) or all")
        p.set_defaults(run=cmd_wat2wasm)

    if wanted("wasm2wat"):
        p = commands.add_parser("wasm2wat", help="print a .wasm binary as text")
        p.add_argument("input")
        p.add_argument("-o", "--output", help="output file (default: standard output)")
        p.add_argument("--no-check", action="store_true", help="skip validation")
        _features_option(p, "all", "what the module may use: 2.0 (the WebAssembly 2.0 standard) or all")
        p.set_defaults(run=cmd_wasm2wat)

    if wanted("validate"):
        p = commands.add_parser("validate", help="check that a .wasm or .wat module or component is valid")
        p.add_argument("input")
        p.add_argument("-v", "--verbose", action="store_true")
        _features_option(p, "all", "what the module may use: 2.0 (the WebAssembly 2.0 standard) or all")
        p.set_defaults(run=cmd_validate)

    # -h means section headers here, as in wabt, so help is --help only.
    if wanted("objdump"):
        p = commands.add_parser(
            "objdump", add_help=False, help="show sections, details and disassembly of a .wasm binary"
        )
        p.add_argument("--help", action="help", help="show this help message and exit")
        p.add_argument("input")
        p.add_argument("-h", "--headers", action="store_true", help="section headers")
        p.add_argument("-x", "--details", action="store_true", help="section details")
        p.add_argument("-d", "--disassemble", action="store_true", help="disassemble function bodies")
        p.set_defaults(run=cmd_objdump)
    after_prog = "Options go before PROG; everything after PROG is passed to the guest unchanged."
    if wanted("run"):
        p = commands.add_parser("run", help="run a program (_start, or --invoke an export)", description=after_prog)
        _program_arguments(p)
        _program_operands(p)
        p.set_defaults(run=cmd_run)

    if wanted("trace"):
        p = commands.add_parser(
            "trace",
            help="run a program, writing every executed instruction with the operand stack after it",
            description=after_prog,
        )
        _program_arguments(p)
        p.add_argument("--func", action="append", metavar="NAME", help="trace only these functions (repeatable)")
        p.add_argument("--limit", type=int, metavar="N", help="stop the program after N trace lines")
        p.add_argument("--memory", action="store_true", help="show the bytes each load and store touched")
        p.add_argument("--json", action="store_true", help="one JSON object per line")
        p.add_argument("-o", "--output", metavar="FILE", help="write the trace here (default: standard error)")
        _program_operands(p)
        p.set_defaults(run=cmd_trace)

    if wanted("debug"):
        p = commands.add_parser(
            "debug",
            help="run a program under the debugger (breakpoints, stepping, stack, locals, memory)",
            description=after_prog + " Commands: type 'help' at the prompt.",
        )
        _program_arguments(p)
        p.add_argument("--commands", metavar="FILE", help="read debugger commands from FILE instead of the terminal")
        _program_operands(p)
        p.set_defaults(run=cmd_debug)

    if wanted("profile"):
        p = commands.add_parser(
            "profile",
            help="run a program and report calls, self and total time per function",
            description=after_prog,
        )
        _program_arguments(p)
        p.add_argument("--speedscope", metavar="FILE", help="write a speedscope profile (https://www.speedscope.app)")
        p.add_argument("--collapsed", metavar="FILE", help="write collapsed stacks (flamegraph.pl's input)")
        p.add_argument("--svg", metavar="FILE", help="write a flame graph picture")
        _program_operands(p)
        p.set_defaults(run=cmd_profile)

    if wanted("explore"):
        p = commands.add_parser(
            "explore",
            help="record a run and step through it in a browser (stack, locals, memory, calls; back and forth)",
            description=after_prog,
        )
        _program_arguments(p)
        from .inspect.explore.arguments import add_arguments as explore_arguments

        explore_arguments(p)
        p.set_defaults(run=cmd_explore)

    if wanted("wit"):
        p = commands.add_parser("wit", help="parse and resolve WIT (a file, or a directory with deps/) and print it")
        from .wit.command import add_arguments as wit_arguments
        from .wit.command import run as cmd_wit

        wit_arguments(p)
        p.set_defaults(run=cmd_wit)

    if wanted("component"):
        p = commands.add_parser("component", help="component tools: bindgen (typed bindings from WIT), wit")
        from .component.command import add_arguments as component_arguments

        component_arguments(p)

    if wanted("wast"):
        p = commands.add_parser("wast", help="run .wast spec scripts (directories recursively)")
        p.add_argument("--engine", default="interp", choices=sorted(ENGINE_CLASSES), help="execution engine")
        _features_option(
            p,
            "2.0",
            "feature set: 2.0 (what core-2.0's scripts are) or all (adds the Wasm 3.0 features implemented: exception "
            "handling, extended constant expressions, multiple memories, relaxed SIMD)",
        )
        p.add_argument("--show", type=int, default=5, help="failures to print per file")
        p.add_argument("paths", nargs="+")
        p.set_defaults(run=cmd_wast, input=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; every failure is one ``wasmbox: error:`` line (a trap adds its wasm
    backtrace), never a Python traceback (set ``WASMBOX_DEBUG=1`` to see one).  Exit statuses:
    0 success, the guest's own for ``proc_exit``, 1 an error or a trap, 2 bad usage, 130 Ctrl-C."""
    arguments = sys.argv[1:] if argv is None else argv
    command = arguments[0] if arguments and arguments[0] in COMMANDS else None
    args = build_parser(command).parse_args(arguments)
    try:
        return int(args.run(args))
    except WasmError as error:
        return _fail(_describe(error, args.input))
    except BrokenPipeError:  # the reader went away (``| head``): stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as error:
        return _fail(f"{error.filename or args.input}: {error.strerror}")
    except KeyboardInterrupt:
        print("wasmbox: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (RecursionError, MemoryError) as error:
        return _fail(f"{args.input}: out of host resources ({type(error).__name__})")
    except Exception as error:  # noqa: BLE001 - a bug of ours: one line, not a traceback
        if os.environ.get("WASMBOX_DEBUG"):
            raise
        return _fail(f"internal error: {type(error).__name__}: {error} (please report it; WASMBOX_DEBUG=1 shows more)")


def console_main() -> int:
    """The ``wasmbox`` command: ``main``, then exit without the interpreter's teardown.

    What a run leaves (its decoded code, compiled closures, instances, memories)
    would be freed object by object as the interpreter shuts down: ~2.5 ms of a
    70 ms run of a small program, and seconds of the cyclic collector's final
    pass after a large one, for memory the process's end returns anyway.  So
    once ``main`` is done: the standard streams are flushed and the exit
    handlers run (the tiers' requests for the next run's machine code, the
    translation worker's detachment), then the process ends.  Where that cannot
    be done safely (a non-daemon thread still running, which a normal exit
    waits for), it exits normally, with frozen objects left out of the
    collector's last pass.
    """
    status = main()
    _exit_at_once(status)
    gc.freeze()
    return status


def _exit_at_once(status: int) -> None:
    """End the process with ``status`` as a normal exit would, minus the teardown; returns only when
    that is not safe here."""
    import atexit
    import threading

    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    others = [thread for thread in threading.enumerate() if thread is not threading.main_thread()]
    if run_exit_handlers is None or any(not thread.daemon for thread in others):
        return
    _flush_standard_streams()
    run_exit_handlers()
    _flush_standard_streams()  # what the handlers printed
    os._exit(status & 0xFF)


def _flush_standard_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: a normal exit would drop the rest too
            pass


if __name__ == "__main__":
    sys.exit(console_main())

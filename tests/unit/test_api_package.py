"""The embedding API as a package (``wasmbox.api``): every name it offered as one file still
resolves, from ``wasmbox`` and from ``wasmbox.api``, and each of its modules stays small."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import wasmbox
import wasmbox.api

# Every public name ``wasmbox.api`` had when it was one file (less the standard library's and
# typing's, which it only used): the API's own, and the toolchain names it imported.
FORMER_API_NAMES = """
Caller CallerAwareFunction DEFAULT_ENGINE DEFAULT_MAX_TABLE_ELEMENTS DuplicateDefinitionError ENGINES
ENGINE_CLASSES EXTERNREF Exhaustion ExportType Exports Extern ExternKind ExternObject ExternType F32 F64
FUNCREF Func FuncType FunctionInstance Global GlobalInstance GlobalType I32 I64 ImportType Instance Limits
LinkError Linker MAX_PAGES MAX_TABLE_SIZE Memory MemoryInstance MemoryType Module ModuleIR ModuleInstance
Observer OutOfBoundsError RESOURCE_LIMIT Sandbox Store Table TableInstance TableType Tag TagInstance TagType
Trap UnknownImportError V128 ValType WASI_MODULE WasiExit WasmException call_function expected_type
extern_type_text from_runtime func func_type_text instantiate load_module numeric to_runtime validate_module
""".split()


def test_every_name_of_wasmbox_all_resolves() -> None:
    missing = [name for name in wasmbox.__all__ if not hasattr(wasmbox, name)]
    assert missing == []


def test_every_name_the_single_file_api_offered_still_resolves() -> None:
    missing = [name for name in FORMER_API_NAMES if not hasattr(wasmbox.api, name)]
    assert missing == []


def test_api_names_of_wasmbox_are_the_api_packages_own() -> None:
    for name in wasmbox.api.__all__:
        if hasattr(wasmbox, name):
            assert getattr(wasmbox, name) is getattr(wasmbox.api, name), name


def test_api_all_lists_only_defined_names() -> None:
    assert [name for name in wasmbox.api.__all__ if not hasattr(wasmbox.api, name)] == []


def test_no_api_module_is_over_400_lines() -> None:
    package = Path(wasmbox.api.__file__).parent
    sizes = {path.name: len(path.read_text().splitlines()) for path in package.glob("*.py")}
    assert len(sizes) > 5
    assert {name: size for name, size in sizes.items() if size > 400} == {}


def test_funcref_conversion_works_in_a_fresh_process() -> None:
    # values.py reaches Func at call time (the package's one import cycle): a funcref crossing first
    # thing in a new interpreter must find it.
    program = (
        "from wasmbox.api.values import from_runtime, to_runtime\n"
        "from wasmbox import FUNCREF, Func, FuncType\n"
        "f = Func(None, FuncType(), lambda: None)\n"
        "assert from_runtime(to_runtime(f, FUNCREF, 'x'), FUNCREF) == f\n"
    )
    subprocess.run([sys.executable, "-c", program], check=True)

"""The embedding API: load modules, link host functions, call exports.

Modelled on wasmtime-py, simpler where Python allows::

    store = Store()
    module = Module('(module (func (export "add") (param i32 i32) (result i32) '
                    'local.get 0 local.get 1 i32.add))')
    instance = Instance(store, module)
    instance.exports["add"](1, 2)   # -> 3

Values cross the boundary as Python values: i32/i64 as (signed) ints, f32/f64
as floats, v128 as 16 bytes, funcref as :class:`Func` or None, externref as
any Python object (None is null).  Several results come back as a tuple.

Where wasmtime-py passes a store to every call (``func(store, 1, 2)``), an
object here knows the store it belongs to: ``func(1, 2)``.  Types are the
toolchain's own (``FuncType``, ``MemoryType(Limits(1, 2))``, ...).

The modules, each with one job: ``store`` (Store), ``module`` (Module),
``extern_types`` (ImportType, ExportType, TagType), ``values`` (Python <-> wasm
values), ``externs`` (Memory, Table, Global, Tag), ``functions`` (Func, Caller,
an instance's exports), ``host_functions`` (Python functions in the engines'
calling convention), ``decorator`` (``@func``), ``asyncio_bridge``
(``call_async`` and async host functions), ``instance`` (Instance),
``linker`` (Linker) and ``wasi_imports`` (each linked instance's own WASI).
"""

from __future__ import annotations

# Names this package's single-file predecessor imported, and so were importable from
# ``wasmbox.api``: kept for code that found them here (their homes are where they come from).
from .. import numeric as numeric
from ..engines.registry import DEFAULT_ENGINE as DEFAULT_ENGINE
from ..engines.registry import ENGINE_CLASSES as ENGINE_CLASSES
from ..errors import DuplicateDefinitionError as DuplicateDefinitionError
from ..errors import Exhaustion as Exhaustion
from ..errors import LinkError as LinkError
from ..errors import OutOfBoundsError as OutOfBoundsError
from ..errors import Trap as Trap
from ..errors import UnknownImportError as UnknownImportError
from ..errors import WasiExit as WasiExit
from ..errors import WasmException as WasmException
from ..ir import module as _ir_module
from ..ir.types import EXTERNREF as EXTERNREF
from ..ir.types import F32 as F32
from ..ir.types import F64 as F64
from ..ir.types import FUNCREF as FUNCREF
from ..ir.types import I32 as I32
from ..ir.types import I64 as I64
from ..ir.types import MAX_PAGES as MAX_PAGES
from ..ir.types import V128 as V128
from ..ir.types import ExternKind as ExternKind
from ..ir.types import FuncType as FuncType
from ..ir.types import GlobalType as GlobalType
from ..ir.types import Limits as Limits
from ..ir.types import MemoryType as MemoryType
from ..ir.types import TableType as TableType
from ..ir.types import ValType as ValType
from ..load import load_module as load_module
from ..runtime.instance import CallerAwareFunction as CallerAwareFunction
from ..runtime.instance import Extern as Extern
from ..runtime.instance import ModuleInstance as ModuleInstance
from ..runtime.instance import call_function as call_function
from ..runtime.instance import expected_type as expected_type
from ..runtime.instance import extern_type_text as extern_type_text
from ..runtime.instance import func_type_text as func_type_text
from ..runtime.instance import instantiate as instantiate
from ..runtime.memory import MemoryInstance as MemoryInstance
from ..runtime.objects import MAX_TABLE_SIZE as MAX_TABLE_SIZE
from ..runtime.objects import FunctionInstance as FunctionInstance
from ..runtime.objects import GlobalInstance as GlobalInstance
from ..runtime.objects import TableInstance as TableInstance
from ..runtime.objects import TagInstance as TagInstance
from ..runtime.observer import Observer as Observer
from ..runtime.sandbox import DEFAULT_MAX_TABLE_ELEMENTS as DEFAULT_MAX_TABLE_ELEMENTS
from ..runtime.sandbox import RESOURCE_LIMIT as RESOURCE_LIMIT
from ..runtime.sandbox import Sandbox as Sandbox
from ..validate import validate_module as validate_module

# The API itself.
from .decorator import func
from .extern_types import ExportType, ExternType, ImportType, TagType
from .externs import Global, Memory, Table, Tag
from .functions import Caller, Exports, ExternObject, Func
from .instance import Instance
from .linker import Linker
from .module import Module
from .store import ENGINES, Store
from .values import from_runtime, to_runtime
from .wasi_imports import WASI_MODULE

ModuleIR = _ir_module.Module  # the toolchain's module, as the single file named it

__all__ = [
    "ENGINES",
    "WASI_MODULE",
    "Caller",
    "ExportType",
    "Exports",
    "ExternObject",
    "ExternType",
    "Func",
    "Global",
    "ImportType",
    "Instance",
    "Linker",
    "Memory",
    "Module",
    "Store",
    "Table",
    "Tag",
    "TagType",
    "from_runtime",
    "func",
    "to_runtime",
]

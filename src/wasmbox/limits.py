"""Implementation limits: the sizes beyond which wasmbox refuses a module, as every engine does.

The specification lets a module declare up to 2^32-1 of almost anything; an
engine that tried to honour such numbers could be made to allocate without
bound by a few bytes of input.  These limits are the ones the JavaScript API
specification writes down and V8, SpiderMonkey and wasmtime (wasmparser)
enforce, so a module refused here is refused there too; the br_table limit is
Cranelift's and V8's.  They are checked while decoding (counts that would
otherwise be allocated) and validating, and raise
:class:`~wasmbox.errors.ImplementationLimitError` (a ``ValidationError``)
naming the limit.
"""

from __future__ import annotations

from .errors import ImplementationLimitError

MAX_TYPES = 1_000_000
MAX_FUNCTIONS = 1_000_000
MAX_IMPORTS = 100_000
MAX_EXPORTS = 100_000
MAX_GLOBALS = 1_000_000
MAX_TAGS = 1_000_000
MAX_DATA_SEGMENTS = 100_000
MAX_ELEMENT_SEGMENTS = 100_000
MAX_TABLES = 100
MAX_MEMORIES = 100
MAX_PARAMS = 1_000
MAX_RESULTS = 1_000
MAX_LOCALS = 50_000  # declared locals of one function
MAX_FUNCTION_SIZE = 7_654_321  # bytes of one code entry
MAX_BR_TABLE_TARGETS = 65_520


def check(count: int, limit: int, what: str) -> None:
    """Refuse ``count`` of ``what`` beyond ``limit``."""
    if count > limit:
        raise ImplementationLimitError(f"{what}: {count} exceeds the implementation limit of {limit}")

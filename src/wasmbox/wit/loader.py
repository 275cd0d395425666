"""Finding WIT on disk (WIT.md, "Filesystem structure"): a file, or a directory with a ``deps/`` folder.

A root directory's ``*.wit`` files form the root package; each entry of ``deps/`` (a file, or a directory of
``*.wit`` files) is a dependency. Further directories or files given as ``extra`` are dependencies too: the WASI
packages in this repository's shared data are directories side by side, without ``deps/`` folders.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .errors import WitError
from .model import Resolve
from .parser import parse_wit
from .resolve import resolve_files
from .syntax import WitFile


def load_wit(
    path: str | Path, extra: Iterable[str | Path] = (), *, features: Iterable[str] = (), all_features: bool = False
) -> Resolve:
    """Parse and resolve the package at ``path`` with its ``deps/`` and the ``extra`` packages; ``@unstable``
    items are kept only for the ``features`` named (or ``all_features``)."""
    root_path = Path(path)
    if not root_path.exists():
        raise WitError(f"{root_path}: no such file or directory")
    root = _read_package(root_path)
    dependencies: list[list[WitFile]] = []
    if root_path.is_dir() and (root_path / "deps").is_dir():
        for entry in sorted((root_path / "deps").iterdir()):
            if entry.is_dir() or entry.suffix == ".wit":
                dependencies.append(_read_package(entry))
    for other in extra:
        dependencies.append(_read_package(Path(other)))
    return resolve_files(root, dependencies, features=features, all_features=all_features)


def parse_wit_text(
    text: str, path: str = "<wit>", *, features: Iterable[str] = (), all_features: bool = False
) -> Resolve:
    """Resolve one WIT file given as text (its dependencies inline as nested ``package`` blocks)."""
    return resolve_files([parse_wit(text, path)], features=features, all_features=all_features)


def _read_package(path: Path) -> list[WitFile]:
    if path.is_dir():
        files = sorted(path.glob("*.wit"))
        if not files:
            raise WitError(f"{path}: no .wit files in this directory")
    else:
        files = [path]
    parsed: list[WitFile] = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise WitError(f"{file}: cannot read: {error}") from None
        parsed.append(parse_wit(text, str(file)))
    return parsed

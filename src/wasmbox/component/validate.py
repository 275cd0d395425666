"""Component validation (placeholder)."""

from __future__ import annotations

from .ir import Component


def validate_component(component: Component) -> None:
    return None

"""The exported resources of the Python guest (app.py): componentize-py looks for them in a module named after
the exported interface (`api`)."""

# ruff: noqa
# mypy: ignore-errors
from wit_world import exports

DROPPED = [0]


def signed(value, bits):
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


class Counter(exports.api.Counter):
    def __init__(self, start):
        self.value = start

    def add(self, n):
        self.value = signed(self.value + n, 64)
        return self.value

    def get(self):
        return self.value

    def absorb(self, other):
        self.value = signed(self.value + other.value, 64)

    @classmethod
    def zero(cls):
        return cls(0)

    def __del__(self):
        DROPPED[0] += 1

"""Run-time structures: memories, tables, globals, functions, instances."""

"""Benchmarks of the sync engine against the sandbox emulators (`make bench`).

Not part of the test suite: they measure time, rates and memory, which tests must not assert.
"""

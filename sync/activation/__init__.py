"""Activation by support (issue 6): preflight checks, conflict check, bindings, audit."""

"""Formatters: a Report in, text out. They never re-derive semantics."""

"""Thin platform adapters. Each port provides a `Port` class with the same surface (docs/unit.md)."""

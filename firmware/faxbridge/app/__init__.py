"""The asyncio application: wires the sans-I/O cores to a port's I/O (docs/unit.md)."""

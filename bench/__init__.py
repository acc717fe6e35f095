"""Benchmarks and the tools that feed them (not part of the application package)."""

"""Benchmarks runnable with `asymlearn benchmark NAME`; results go to docs/benchmarks/."""

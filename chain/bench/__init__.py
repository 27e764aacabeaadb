"""Benchmarks: each prints its figures; run through `chain bench NAME`."""

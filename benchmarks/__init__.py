"""Benchmarks: retrieval modes x policies, speed and scale, training comparisons."""

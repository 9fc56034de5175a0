"""Benchmarks of the library: speed and memory (:mod:`vsae.bench.perf`)."""

"""One module per part of the performance benchmark; each ``bench_*`` function returns its figures."""

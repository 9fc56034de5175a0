"""The benchmark: the paper's experiments reproduced cell by cell, and the performance benchmark.

It sits beside the library, not inside it: nothing outside ``vsae.bench`` imports it, except the
``vsae bench`` command, which imports it when that command runs (docs/architecture.md).

Reproduction (``vsae bench PRESET``, ``docs/results.md``):

- :mod:`vsae.bench.presets`: what runs (methods, datasets, settings, presets, seeds, budgets);
- :mod:`vsae.bench.cells`: what a cell is, where it is stored, the versions and machine it records;
- :mod:`vsae.bench.tabular_cells`, :mod:`vsae.bench.image_cells`, :mod:`vsae.bench.figure_cells`:
  what one cell of each kind computes;
- :mod:`vsae.bench.runner`: computes the missing cells of a preset; the ``vsae bench`` options;
- :mod:`vsae.bench.report`: ``docs/results.md`` from the cells, with :mod:`vsae.bench.comparison`
  (a metric over seeds; wins, ties and losses), :mod:`vsae.bench.paper` (the paper's numbers) and
  :mod:`vsae.bench.plots` (the PNG figures).

Performance (``python -m vsae.bench.performance``, ``docs/performance.md``): :mod:`vsae.bench.performance`.

It is part of the installed package (rather than a ``benchmarks/`` folder beside it) because
``vsae bench`` is a command of the installed ``vsae``: every stored cell records the ``vsae bench``
command line that computed it, and that command must rerun it from an installed copy, against the
installed library (the versions a cell records are those of that installation). The scripts in
``benchmarks/`` are one-off studies behind ``docs/model.md``; nothing records them as a command.
"""

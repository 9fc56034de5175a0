"""Performance benchmark: training throughput, fit-plus-impute time and accuracy, imputation at scale.

Every figure is measured in one run, repeated, and reported as min/median/max; methods compared with
each other are timed round-robin inside the same repeat (:mod:`.harness`), so a change of machine load
hits all of them alike and their *ratios* are more robust than the absolute numbers.

Modules: :mod:`.sizes` (how big a full or ``--quick`` run is), :mod:`.harness` (timing),
:mod:`.synthetic` (generated data), :mod:`.references` (the networks VSAE is timed against),
:mod:`.steps` (the timed training step), :mod:`.parts` (one module per part), :mod:`.summary`
(Markdown tables of the results) and :mod:`.cli` (the command line). Parts:

- ``train``: samples/s of one full training step at batch 256 (the two-pass Eq. 8 objective,
  backward, gradient clipping, Adam) for M = 8 and M = 50 numerical features and for MNIST+MNIST,
  against a plain VAE of the same widths and depth and against a naive VSAE that loops over modalities
  in Python. The levers of the step are variants timed in the same round-robin (grouped layers, fused
  loss, einsum, Adam implementations, a host synchronisation per step, the pseudo-target pass).
- ``encoders``: the unimodal encoders alone: grouped ``baddbmm`` against ``einsum`` and a loop.
- ``batching``: one epoch with index batches of in-memory tensors against a ``DataLoader``.
- ``compile``: ``torch.compile`` compile time and steady-state step time.
- ``batch_size``: wall time and accuracy of ``VSAEImputer`` for several batch sizes (time to accuracy).
- ``chunks``: ``VSAEImputer.transform`` time and peak memory for several chunk sizes.
- ``transform``: ``VSAEImputer.transform`` of 1,000,000 rows × 50 columns; time and peak memory,
  measured in a fresh process.
- ``uci``: fit-plus-impute wall time and NRMSE/PFC of VSAE, MICE and MissForest on the UCI tables
  (docs/protocol.md, seed 0, ratio 0.5). Results are cached per (dataset, method) in the output file:
  a rerun skips what is done.

Usage::

    VSAE_DATA=../shared/data python -m vsae.bench.performance --threads 2 --out runs/perf.json
    VSAE_DATA=../shared/data python -m vsae.bench.performance --parts uci --datasets mushroom
    VSAE_DATA=../shared/data python -m vsae.bench.performance --quick --out runs/perf-quick.json
"""

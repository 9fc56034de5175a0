"""Input-side parts shared by VSAE and the neural baselines: the filled input ``x̃`` and the unimodal
encoders (one small network per modality).

Shapes: ``x`` is the encoded data ``[N, D]`` (see :class:`vsae.schema.Schema`), ``observed`` the mask
``[N, M]`` (True = observed).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from vsae.model.layers import grouped_mlp
from vsae.schema import Schema

#: Modalities at most this wide share one padded unimodal-encoder group; wider ones group by width.
SMALL_MODALITY_WIDTH = 64


class UnobservedFill(nn.Module):
    """``x̃`` (docs/design.md): ``x`` with every unobserved modality replaced, so that no network ever reads
    what an unobserved cell holds. Tabular columns get standard normal noise (or 0, the noise's mean,
    when ``noise`` is false, for deterministic imputation); image columns get zeros."""

    def __init__(self, schema: Schema) -> None:
        super().__init__()
        column_modality = schema.column_modality()
        tabular = np.array([m.is_tabular for m in schema])[column_modality]
        self.register_buffer("column_modality", torch.as_tensor(column_modality), persistent=False)
        self.register_buffer("noise_columns", torch.as_tensor(tabular, dtype=torch.float32), persistent=False)

    def forward(self, x: torch.Tensor, observed: torch.Tensor, noise: bool) -> torch.Tensor:
        column_observed = observed[:, self.column_modality]
        fill = torch.randn_like(x) * self.noise_columns if noise else torch.zeros_like(x)
        return torch.where(column_observed, x, fill)


class UnimodalEncoders(nn.ModuleList):
    """One MLP per modality, ``[N, D] -> [N, M, out_features]``, run as a few grouped networks.

    Looping over M small networks costs M kernel launches per layer, so modalities are batched:
    all modalities at most :data:`SMALL_MODALITY_WIDTH` wide form one group whose inputs are
    zero-padded to the widest of them; wider modalities (images) group by width. The list holds one
    :func:`~vsae.model.layers.grouped_mlp` per group.
    """

    def __init__(
        self, schema: Schema, hidden: int, out_features: int, depth: int = 3, batch_norm: bool = True
    ) -> None:
        groups = self._modality_groups(schema)
        super().__init__(
            grouped_mlp(len(members), padded, hidden, out_features, depth, batch_norm)
            for members, padded in groups
        )
        width = schema.total_width
        for g, (members, padded) in enumerate(groups):
            gather = np.full((len(members), padded), width, dtype=np.int64)  # `width` = the zero column
            for row, index in enumerate(members):
                columns = np.arange(schema.offsets[index], schema.offsets[index + 1])
                gather[row, : columns.size] = columns
            self.register_buffer(f"gather_{g}", torch.as_tensor(gather), persistent=False)
        order = np.concatenate([members for members, _ in groups])
        self.register_buffer("order", torch.as_tensor(np.argsort(order)), persistent=False)

    @staticmethod
    def _modality_groups(schema: Schema) -> list[tuple[list[int], int]]:
        """Modalities sharing a grouped encoder, and the width their inputs are zero-padded to."""
        widths = [m.width for m in schema]
        small = [i for i, w in enumerate(widths) if w <= SMALL_MODALITY_WIDTH]
        groups = [(small, max(widths[i] for i in small))] if small else []
        for width in sorted({w for w in widths if w > SMALL_MODALITY_WIDTH}):
            groups.append(([i for i, w in enumerate(widths) if w == width], width))
        return groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Every modality's network applied to its own columns of ``x`` (already filled)."""
        padded = torch.cat([x, x.new_zeros(x.shape[0], 1)], dim=1)
        outputs = [encoder(padded[:, getattr(self, f"gather_{g}")]) for g, encoder in enumerate(self)]
        return torch.cat(outputs, dim=1)[:, self.order]

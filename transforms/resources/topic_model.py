"""The trained top-level topic head (configs/topic_head.json, made by `make train-topics` from
../shared/data): a softmax regression over the sentence encoder's embedding of a headline and
lead, onto IPTC's 17 top-level topics, in every language the encoder reads."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from transforms.core.settings import ConfigError


@dataclass(frozen=True, eq=False)
class TopicHead:
    codes: tuple[str, ...]
    weights: np.ndarray  # (dimensions, topics)
    bias: np.ndarray  # (topics,)

    def probabilities(self, encodings: np.ndarray) -> np.ndarray:
        """(texts, topics): each text's probability of each topic, summing to 1."""
        logits = encodings @ self.weights + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        shares = np.exp(logits)
        return shares / shares.sum(axis=1, keepdims=True)


@cache
def load_topic_head(path: str) -> TopicHead:
    """The head, read once per worker process."""
    if not Path(path).is_file():
        raise ConfigError(f"config key 'topics.model.path': no trained topic head at {path}; "
                          "`make train-topics` writes it, or set the key to null")
    saved = json.loads(Path(path).read_text(encoding="utf-8"))
    return TopicHead(tuple(saved["codes"]), np.array(saved["weights"], dtype=np.float32),
                     np.array(saved["bias"], dtype=np.float32))

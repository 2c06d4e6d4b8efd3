"""Learning — the models the ranking improves with, and how one replaces another.

``rerank`` (``LinearRanker``, the scikit-learn estimator of the second stage; its training set),
``encoder_training`` (the project's own encoders), ``tracking`` and ``registry`` (MLflow runs and
the model registry), ``promotion`` (train, register, compare with the champion on a held-out
benchmark, promote).
"""

from matcher.learning.registry import ModelRegistry
from matcher.learning.rerank import LinearRanker, load_model, save_model

__all__ = ["LinearRanker", "ModelRegistry", "load_model", "save_model"]

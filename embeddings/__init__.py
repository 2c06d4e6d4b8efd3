"""Text → vectors: the ``Encoder`` interface, its backends and the vector cache."""

from .base import Encoder, l2_normalize
from .cache import CachedEncoder, VectorCache
from .factory import ENCODERS, load_encoder

__all__ = ["ENCODERS", "CachedEncoder", "Encoder", "VectorCache", "l2_normalize", "load_encoder"]

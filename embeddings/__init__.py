"""Text → vectors: the ``Encoder`` interface, its backends and the vector cache."""

from .backends import minilm_path
from .base import Encoder, EncoderBusy, l2_normalize
from .cache import CachedEncoder, VectorCache
from .factory import ENCODERS, load_encoder

__all__ = ["ENCODERS", "CachedEncoder", "Encoder", "EncoderBusy", "VectorCache", "l2_normalize", "load_encoder", "minilm_path"]

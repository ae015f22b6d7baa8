"""Noise injection in overparametrized models (Orvieto, Raj, Kersting, Bach; AISTATS 2023).

Public entry point: :class:`NoiseInjector` (perturb, take the gradient, restore exactly).
"""

from .perturb import NoiseInjector, count_parameter_tensors

__all__ = ["NoiseInjector", "count_parameter_tensors"]
__version__ = "0.1.0"

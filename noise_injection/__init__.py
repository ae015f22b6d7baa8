"""Noise injection in overparametrized models (Orvieto, Raj, Kersting, Bach; AISTATS 2023).

Public entry point: :class:`NoiseInjector` (perturb, take the gradient, restore exactly).
It is imported on first use, so that workflow jobs which only aggregate or plot do not pay
for importing torch.
"""

__all__ = ["NoiseInjector", "count_parameter_tensors"]
__version__ = "0.1.0"


def __getattr__(name):
    if name in __all__:
        from . import perturb

        return getattr(perturb, name)
    raise AttributeError(f"module 'noise_injection' has no attribute {name!r}")

"""Noise injection in overparametrized models (Orvieto, Raj, Kersting, Bach; AISTATS 2023).

Public entry points: :class:`NoiseInjector` (perturb, take the gradient, restore exactly) and
:class:`NoisyOptimizer` (the same as an optimizer wrapper); docs/injector.md is their guide.
They are imported on first use, so that workflow jobs which only aggregate or plot do not pay
for importing torch.
"""

#: public name -> module that defines it
_EXPORTS = {
    "NoiseInjector": "perturb",
    "InjectorWarning": "perturb",
    "count_parameter_tensors": "perturb",
    "NoisyOptimizer": "injection.optim",
}
__all__ = list(_EXPORTS)
__version__ = "0.1.0"


def __getattr__(name):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'noise_injection' has no attribute {name!r}")

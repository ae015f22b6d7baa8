"""Building blocks of :class:`noise_injection.perturb.NoiseInjector` (the class itself lives in
``noise_injection/perturb.py``): :mod:`.params`, what is perturbed (modules, tensors, named
parameters, optimizer-style param groups) and whether that set has changed since; :mod:`.optim`,
:class:`NoisyOptimizer`, the optimizer-wrapper form. The user's guide is docs/injector.md.
(Not to be confused with ``noise_injection/injector/``, the workflow's statistics check.)
"""

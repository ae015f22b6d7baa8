"""The injector's demo chain: statistics of the noise that NoiseInjector draws, checked against
its definition. Used by rules/injector.smk.
"""

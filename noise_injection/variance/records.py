"""The keys of the variance stage's result records that its consumers read. Each consumer reads
a record with ``base.inputs.read_json(path, rule, KEYS)``, so a record that lacks one
stops the job naming the file, the missing keys and the rule that rebuilds it. No torch here.
"""

HEATMAP = ("sigmas", "widths", "schemes", "mc_mean", "mc_se", "exact")
WIDTH = ("net", "widths", "schemes", "loss_variance", "grad_trace_cov", "predicted")
GD_END = ("width", "risk", "penalty")
CALIBRATION = ("sigma", "source", "fit.log_residuals")
DYNAMICS = ("width", "methods", "iterations", "risk", "effective_risk",
            "effective_risk_minimum")
STALL = ("width", "sigmas", "methods", "iterations", "effective_risk",
         "effective_risk_minimum", "predicted_onset")

"""Rules train_network (one run: experiment, scheme, sigma, seed, from the wildcards) and
train_<experiment> (networks.runs_per_job: experiment; every run of the experiment, one after
another in this process, from params.runs): write each run's JSON + NPZ.

A run's checkpoint (params.checkpoint) is outside the declared outputs, so it survives a
killed or failed job and the rerun resumes from it; it is deleted once the run's outputs are
written. A record's wall_time_s and cpu_time_s are its run's; wall_time_total_s adds the
killed jobs before it.
"""

from pathlib import Path

import torch

from noise_injection.networks.runs import final_metrics, history_arrays, train_run
from noise_injection.base.results import make_record, write_json, write_npz
from noise_injection.base.runlog import log_to_file

log = log_to_file(snakemake.log[0])
torch.set_num_threads(snakemake.threads)

networks = snakemake.config["networks"]
params, output = snakemake.params, snakemake.output
if hasattr(params, "runs"):  # train_<experiment>: the runs of one experiment
    name = params.name
    runs = list(zip(params.runs, params.checkpoint, output.json, output.npz))
else:  # train_network: one run
    wc = snakemake.wildcards
    name = wc.experiment
    runs = [((wc.scheme, wc.sigma, int(wc.seed)), params.checkpoint, output.json, output.npz)]
experiment = networks["experiments"][name]
for (scheme, sigma, seed), checkpoint, json_path, npz_path in runs:
    log.info("train %s scheme=%s sigma=%s seed=%d: %s", name, scheme, sigma, seed, experiment)
    out = train_run(name, networks, scheme, sigma, seed, checkpoint=checkpoint)
    history = out["history"]
    log.info("status %s after %d steps, final %s", out["status"], out["steps"],
             final_metrics(history))
    write_npz(npz_path, **history_arrays(history))
    write_json(json_path, make_record(
        {"experiment": name, "scheme": scheme, "sigma": float(sigma), **experiment,
         "device_setting": networks["device"], "bf16": networks["bf16"],
         "channels_last": networks["channels_last"]},
        seed, out["status"], out["wall_time_s"], device=out["device"],
        cpu_time_s=out["cpu_time_s"], wall_time_total_s=out["wall_time_total_s"],
        precision=out["precision"], data_source=out["data_source"],
        num_tensors=out["num_tensors"], steps=out["steps"], final=final_metrics(history),
        eval_epochs=history["epoch"]))
    Path(checkpoint).unlink(missing_ok=True)

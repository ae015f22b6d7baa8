"""Rule train_network: train one run (experiment, scheme, sigma, seed); write JSON + NPZ.

The checkpoint (params.checkpoint) is outside the declared outputs, so it survives a killed or
failed job and the rerun resumes from it; it is deleted once the outputs are written. The
record's wall_time_s and cpu_time_s are this job's; wall_time_total_s adds the killed jobs before
it.
"""

from pathlib import Path

import torch

from noise_injection.networks.runs import final_metrics, history_arrays, train_run
from noise_injection.workflow.results import make_record, write_json, write_npz
from noise_injection.workflow.runlog import log_to_file

log = log_to_file(snakemake.log[0])
torch.set_num_threads(snakemake.threads)

networks = snakemake.config["networks"]
wc = snakemake.wildcards
seed = int(wc.seed)
experiment = networks["experiments"][wc.experiment]
log.info("train %s scheme=%s sigma=%s seed=%d: %s", wc.experiment, wc.scheme, wc.sigma, seed,
         experiment)
out = train_run(wc.experiment, networks, wc.scheme, wc.sigma, seed,
                checkpoint=snakemake.params.checkpoint)
history = out["history"]
log.info("status %s after %d steps, final %s", out["status"], out["steps"],
         final_metrics(history))
write_npz(snakemake.output.npz, **history_arrays(history))
write_json(snakemake.output.json, make_record(
    {"experiment": wc.experiment, "scheme": wc.scheme, "sigma": float(wc.sigma),
     **experiment, "device_setting": networks["device"], "bf16": networks["bf16"],
     "channels_last": networks["channels_last"]},
    seed, out["status"], out["wall_time_s"], device=out["device"],
    cpu_time_s=out["cpu_time_s"], wall_time_total_s=out["wall_time_total_s"], precision=out["precision"],
    data_source=out["data_source"], num_tensors=out["num_tensors"],
    steps=out["steps"], final=final_metrics(history),
    eval_epochs=history["epoch"]))
Path(snakemake.params.checkpoint).unlink(missing_ok=True)

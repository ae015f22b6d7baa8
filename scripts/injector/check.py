"""Rule injector_check: measure the injector's statistics and write the result JSON."""

from noise_injection.injector.check import injector_statistics
from noise_injection.base.runlog import log_to_file
from noise_injection.base.results import Stopwatch, make_record, write_json

log = log_to_file(snakemake.log[0])

cfg = snakemake.params.cfg
log.info("injector check: %s", cfg)
clock = Stopwatch()
stats = injector_statistics(cfg["width"], cfg["sigma"], cfg["steps"], cfg["seed"])
write_json(
    snakemake.output[0],
    make_record(cfg, cfg["seed"], "ok", **clock.times(), schemes=stats),
)

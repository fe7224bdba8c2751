"""`make bench` (`python -m tooling.benchmarks [--quick]`): PoreGuide against Rasa's own default bot
(`rasa init`), both on this machine in the same run: training time, retraining after one response
changed, cold start, REST turn latency, peak memory, and NLU quality of PoreGuide's pipeline against
Rasa's default pipeline on PoreGuide's data. Writes var/bench/results.json, results.md and PNG charts."""

from bot import settings

OUT_DIR = settings.VAR_DIR / "bench"
CROSS_VALIDATED = ("poreguide", "rasa_default")  # PoreGuide's pipeline, Rasa's default one on its data

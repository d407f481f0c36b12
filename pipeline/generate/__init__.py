"""The generation job: problems → clean → Solver Agent on Ray Data → traces/ + rejects/ + stats."""

from pipeline.generate.config import GenerateConfig
from pipeline.generate.job import run_generate
from pipeline.generate.summary import GenerateSummary

__all__ = ["GenerateConfig", "GenerateSummary", "run_generate"]

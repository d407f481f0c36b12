"""The generation job: problems → clean → Solver Agent on Ray Data → traces/ + rejects/ + stats."""

from pipeline.generate.config import GenerateConfig, GenerateResources
from pipeline.generate.job import run_generate
from pipeline.generate.summary import GenerateSummary

__all__ = ["GenerateConfig", "GenerateResources", "GenerateSummary", "run_generate"]

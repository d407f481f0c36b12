"""The evaluation job: models x benchmarks -> generations on Ray Data -> grades -> report."""

from eval.run.config import BenchmarkRef, EvalConfig, ModelSpec, SyntheticSlice
from eval.run.job import run_eval
from eval.run.summary import EvalSummary

__all__ = ["BenchmarkRef", "EvalConfig", "EvalSummary", "ModelSpec", "SyntheticSlice", "run_eval"]

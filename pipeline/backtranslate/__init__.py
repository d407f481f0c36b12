"""The back-translation job: verified tool-integrated traces → verified natural-language SFT data."""

from pipeline.backtranslate.config import BacktranslateConfig, JudgeConfig
from pipeline.backtranslate.job import run_backtranslate
from pipeline.backtranslate.summary import BacktranslateSummary

__all__ = ["BacktranslateConfig", "BacktranslateSummary", "JudgeConfig", "run_backtranslate"]

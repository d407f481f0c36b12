"""Training metrics where people look for them: TensorBoard event files, and MLflow when configured.

Written from the rank-0 worker only (Ray Train's Tune-era logger callbacks do not apply to
its current trainer, so the loop logs itself), with the same dict the loop reports to Ray
Train and keeps in `TrainSummary.metrics_history`, from which the run report draws its loss
curve: one set of numbers everywhere.

    tensorboard --logdir runs/demo/train/tensorboard

TensorBoard files go to `<output_dir>/tensorboard/`; when output_dir is an object-store URI
they are written on the worker's disk and uploaded there when training ends. MLflow gets the
run's hyper-parameters and every report when `tracking.mlflow_tracking_uri` is set (an
`http://` tracking server, or anything `mlflow.set_tracking_uri` takes; `pip install
tooldistill[tracking]`).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from pydantic import Field

from pipeline.config_rules import StrictModel
from pipeline.runtime.storage import RunFolder

log = logging.getLogger(__name__)

TENSORBOARD = "tensorboard"


class TrackingSettings(StrictModel):
    """Where the training metrics go besides the run folder's train_summary.json."""

    tensorboard: bool = Field(default=True, description="write TensorBoard event files to <output_dir>/tensorboard")
    mlflow_tracking_uri: str | None = Field(
        default=None, description="log parameters and metrics to this MLflow tracking server (e.g. http://mlflow:5000); None: no MLflow"
    )
    mlflow_experiment: str = Field(default="tooldistill", description="MLflow experiment the run is logged under")


def hyperparameters(config: Any) -> dict[str, Any]:
    """The flat hyper-parameters worth comparing between runs (MLflow params, TensorBoard text)."""
    return {
        "model": config.model, "lora_r": config.lora.r, "lora_alpha": config.lora.alpha, "lora_dropout": config.lora.dropout,
        "lr": config.optim.lr, "epochs": config.optim.epochs, "max_steps": config.optim.max_steps,
        "per_device_batch_size": config.optim.per_device_batch_size,
        "gradient_accumulation_steps": config.optim.gradient_accumulation_steps, "workers": config.scaling.num_workers,
        "max_seq_len": config.max_seq_len, "zero_stage": config.zero_stage, "seed": config.seed,
    }


class MetricsLog:
    """The rank-0 worker's metric sinks; `log` each report, `close` at the end (uploads if needed)."""

    def __init__(self, settings: TrackingSettings, output_dir: str, run_name: str, params: dict[str, Any]) -> None:
        self.folder = RunFolder(output_dir)
        self.writer = None
        self.scratch: Path | None = None
        self.mlflow = None
        if settings.tensorboard:
            from tensorboardX import SummaryWriter

            if self.folder.is_local:
                logdir = self.folder.local_path(TENSORBOARD)
            else:
                self.scratch = Path(tempfile.mkdtemp(prefix="tooldistill-tb-"))
                logdir = self.scratch
            self.writer = SummaryWriter(str(logdir))
            self.writer.add_text("hyperparameters", "\n".join(f"    {k}: {v}" for k, v in params.items()))
        if settings.mlflow_tracking_uri:
            import os

            import mlflow

            if settings.mlflow_tracking_uri.startswith("file:"):
                # MLflow keeps its folder store for laptops and tests but refuses it unless asked.
                os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")

            mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
            mlflow.set_experiment(settings.mlflow_experiment)
            mlflow.start_run(run_name=run_name)
            mlflow.log_params({k: v for k, v in params.items() if v is not None})
            self.mlflow = mlflow

    def log(self, metrics: dict[str, Any]) -> None:
        step = int(metrics["step"])
        scalars = {k: float(v) for k, v in metrics.items() if k != "step" and isinstance(v, int | float)}
        if self.writer is not None:
            for key, value in scalars.items():
                self.writer.add_scalar(f"train/{key}", value, step)
        if self.mlflow is not None:
            self.mlflow.log_metrics(scalars, step=step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            if self.scratch is not None:
                self.folder.upload_dir(self.scratch, TENSORBOARD)
                shutil.rmtree(self.scratch, ignore_errors=True)
        if self.mlflow is not None:
            self.mlflow.end_run()

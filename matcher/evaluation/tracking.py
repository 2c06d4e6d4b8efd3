"""MLflow at the pipeline edge: a quiet session on the project's tracking store."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """MLflow and its migrations talk on stdout; commands that print JSON must keep it clean."""
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    with contextlib.redirect_stdout(sys.stderr):
        yield


#: the experiment tag MLflow's UI reads to open an experiment in its model-training view, not its GenAI one
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"


@contextlib.contextmanager
def mlflow_run(tracking_uri: str, experiment: str, artifact_root: Path | None = None, run_name: str | None = None) -> Iterator[Any]:
    """An active MLflow run in ``experiment`` (created with its artefacts under ``artifact_root``).

    MLflow's default artefact location is ``./mlruns`` under the current folder, which is
    never what we want: a new experiment gets ``artifact_root`` instead.
    """
    with quiet():
        import mlflow

        mlflow.set_tracking_uri(tracking_uri)
        if artifact_root is not None and mlflow.get_experiment_by_name(experiment) is None:
            mlflow.create_experiment(experiment, artifact_location=Path(artifact_root).resolve().as_uri())
        current = mlflow.set_experiment(experiment)
        if current.tags.get(EXPERIMENT_KIND_TAG) != EXPERIMENT_KIND:
            mlflow.set_experiment_tag(EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
        with mlflow.start_run(run_name=run_name) as active:
            yield active

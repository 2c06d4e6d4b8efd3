"""Wire schemas of the HTTP API (apart from the domain objects)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, ValidationInfo, field_validator

from matcher.data.feedback import VERDICTS
from matcher.data.fields import RecordError, canonical_id, check_unicode
from matcher.data.schema import SEGMENTS, SIZES
from matcher.ops.access import ROLES
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


#: an identifier in its canonical form (``matcher.data.schema.canonical_id``): one id, one spelling
ApiId = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(canonical_api_id)]
NeedId = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_canonical_need_id)]


def _optional_canonical(value: str) -> str:
    return canonical_api_id(value) if value.strip() else ""


#: an optional identifier: empty, or canonical
OptionalId = Annotated[str, Field(max_length=200), AfterValidator(_optional_canonical)]


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
                raise ValueError(f"{item!r} is not one of {', '.join(allowed)}")
        return value


class MatchRequest(ApiModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS, description="the need, in free text (French)")
    k: int = Field(default=10, ge=1, le=MAX_K)
    cpv: list[str] = Field(default_factory=list, max_length=20, description="CPV codes of the need")
    buyer_id: OptionalId = ""
    segment: str = Field(default="", max_length=40, description=f"the need's purchase segment: empty or one of {', '.join(SEGMENTS)}")
    amount: float | None = Field(default=None, gt=0, lt=1e12, description="estimated amount of the purchase, euros HT")
    filters: FiltersIn = Field(default_factory=FiltersIn)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is blank")
        return value.strip()

    @field_validator("segment")
    @classmethod
    def _known_segment(cls, value: str) -> str:
        return _segment(value)

    @field_validator("cpv")
    @classmethod
    def _cpv_codes(cls, value: list[str]) -> list[str]:
        from matcher.data.fields import normalize_cpv

        codes = []
        for raw in value:
            code = normalize_cpv(raw)
            if code is None:
                raise ValueError(f"{raw!r} is not a CPV code (8 digits)")
            codes.append(code)
        return codes


def _segment(value: str) -> str:
    value = value.strip()
    if value and value not in SEGMENTS:
        raise ValueError(f"{value!r} n'est pas un segment connu : {', '.join(SEGMENTS)}")
    return value


class BatchRequest(ApiModel):
    queries: list[MatchRequest] = Field(
        min_length=1, max_length=MAX_BATCH, description=f"1 to {MAX_BATCH} needs, ranked in one batched pass"
    )


class EvidenceOut(BaseModel):
    kind: str
    text: str
    similarity: float
    terms: list[str]
    buyer_name: str = ""
    date: str | None = None
    cpv: str | None = None


class ExplanationOut(BaseModel):
    reasons: list[str]
    evidence: list[EvidenceOut]
    shared_terms: list[str]
    cpv: dict[str, Any] | None = None
    segment: str | None = None


class MatchOut(BaseModel):
    rank: int
    score: float
    supplier_id: str
    name: str
    region: str
    segments: list[str]
    tags: list[str]
    size: str = ""
    is_sme: bool = False
    website: str
    features: dict[str, float]
    explanation: ExplanationOut


class ProcurementOut(BaseModel):
    amount: float
    threshold: float
    direct_award_possible: bool
    message: str


class MatchesOut(BaseModel):
    need_id: str | None = None
    procurement: ProcurementOut | None = None
    results: list[MatchOut]
    count: int
    versions: dict[str, str]


class BatchOut(BaseModel):
    results: list[MatchesOut]
    count: int
    versions: dict[str, str]


class ShortlistEntryOut(BaseModel):
    rank: int
    supplier_id: str
    name: str
    region: str
    segments: list[str] = []
    size: str = ""
    is_sme: bool = False
    score: float
    needs: list[dict[str, Any]]
    reasons: list[str] = []


class ShortlistOut(BaseModel):
    buyer_id: str
    buyer_name: str
    n_needs: int
    results: list[ShortlistEntryOut]
    count: int
    versions: dict[str, str]


class HealthOut(BaseModel):
    status: str
    suppliers: int
    needs: int
    evidence: int
    versions: dict[str, str]


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
    segment: str = Field(default="", max_length=40, description=f"empty or one of {', '.join(SEGMENTS)}")
    region: str = Field(default="", max_length=100)
    date: str | None = Field(default=None, max_length=10)
    amount: float | None = Field(default=None, gt=0, lt=1e12)

    @field_validator("segment")
    @classmethod
    def _known_segment(cls, value: str) -> str:
        return _segment(value)


class NeedOut(BaseModel):
    need_id: str
    buyer_id: str
    buyer_name: str = ""
    title: str = ""
    description: str = ""
    cpv: list[str] = []
    segment: str = ""
    region: str = ""
    date: str | None = None
    amount: float | None = None


class ImportOut(BaseModel):
    read: int
    accepted: int
    inserted: int
    updated: int
    rejected: int
    errors: list[str]


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
            raise ValueError(f"{value!r} is not one of {', '.join(VERDICTS)}")
        return value

    @field_validator("versions")
    @classmethod
    def _small_versions(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > 5 or any(len(k) > 20 or len(v) > 300 for k, v in value.items()):
            raise ValueError("at most 5 entries (encoder, index, reranker), short values")
        return value


class KeyIn(ApiModel):
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(description=f"one of {', '.join(ROLES)}")
    buyer_id: ApiId | None = None


class MeOut(BaseModel):
    name: str
    role: str
    buyer_id: str | None
    key_id: str
    innovation_threshold_eur: float
    segments: list[str]
    sizes: dict[str, str]
    versions: dict[str, str]


class ErrorOut(BaseModel):
    """Every error answer: ``detail`` names the field (or what was refused); ``errors`` lists each invalid field."""

    detail: str
    errors: list[dict[str, Any]] = []


#: the error answers every router documents (instead of FastAPI's default 422 only)
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in (
        (400, "malformed body (not JSON, not UTF-8)"),
        (401, "no API key, or an unknown / revoked one"),
        (403, "the key's role may not use this route"),
        (404, "unknown id, or another organisation's record"),
        (409, "conflict (existing id, not held out)"),
        (413, "request body larger than the route's limit"),
        (422, "invalid input: the field is named"),
        (429, "too many requests for this key: wait ``Retry-After`` seconds"),
        (503, "the service is saturated or the request exceeded its time budget: retry after ``Retry-After`` seconds"),
    )
}


# -- answers of the listing, staff and admin routes (one schema per wire shape) ---------------
class BuyerOut(BaseModel):
    buyer_id: str
    buyer_name: str
    n_needs: int


class BuyersOut(BaseModel):
    data: list[BuyerOut]
    count: int


class NeedsOut(BaseModel):
    data: list[NeedOut]
    count: int


class ReverseNeedOut(BaseModel):
    """A recorded need this start-up fits, and how well."""

    need_id: str
    buyer_id: str
    buyer_name: str
    title: str
    rank: int
    score: float
    reasons: list[str]


class ReverseOut(BaseModel):
    supplier_id: str
    name: str
    data: list[ReverseNeedOut]
    count: int
    versions: dict[str, str]


class ExposedItemOut(BaseModel):
    item: int
    lists: int


class ExposureOut(BaseModel):
    """How the slots of the lists are shared among start-ups (``matcher.ranking.exposure``)."""

    n_lists: int
    slots: int
    distinct_items: int
    max_exposure: int
    top_items: list[ExposedItemOut]
    gini_shown: float
    n_items: int | None = None
    gini_catalogue: float | None = None
    coverage: float | None = None


class MinistryListOut(BaseModel):
    buyer_id: str
    buyer_name: str
    n_needs: int
    results: list[ShortlistEntryOut]


class CrossShortlistsOut(BaseModel):
    k: int
    cap: int | None
    trade_off: float
    lists: list[MinistryListOut]
    exposure_before: ExposureOut
    exposure_after: ExposureOut
    versions: dict[str, str]


class MinistryStatsOut(BaseModel):
    buyer_id: str
    buyer_name: str
    needs: int
    startups: int
    sme: int


class StatsOut(BaseModel):
    k: int
    by_region: dict[str, int]
    by_segment: dict[str, int]
    by_size: dict[str, int]
    by_ministry: list[MinistryStatsOut]
    feedback: dict[str, int]
    versions: dict[str, str]


class StoredFeedbackOut(BaseModel):
    id: int
    need_id: str | None
    query_text: str
    supplier_id: str
    verdict: str
    grade: int
    rank: int | None
    buyer_id: str | None
    actor: str
    encoder: str
    index_version: str
    reranker: str
    at: str


class FeedbackListOut(BaseModel):
    data: list[StoredFeedbackOut]
    count: int


class FeedbackCreatedOut(BaseModel):
    id: int
    verdict: str
    buyer_id: str | None
    versions: dict[str, str]


class KeyOut(BaseModel):
    key_id: str
    name: str
    role: str
    buyer_id: str | None
    created_at: str
    created_by: str
    revoked: bool


class KeysOut(BaseModel):
    data: list[KeyOut]
    count: int


class KeyCreatedOut(BaseModel):
    """A new key: ``token`` is shown in this answer only."""

    key_id: str
    token: str
    role: str
    buyer_id: str | None
    name: str


class ReindexOut(BaseModel):
    """What a re-index did: suppliers read again, texts encoded (or found in the vector cache), index changes."""

    suppliers: int
    evidence: int
    catalogue: dict[str, int]
    texts: dict[str, int]
    index: dict[str, int | str]
    versions: dict[str, str]


class SupplierWriteOut(BaseModel):
    """A supplier added, replaced or deleted; with ``reindex`` (the default), what the re-index did."""

    supplier_id: str
    created: bool | None = None
    deleted: bool | None = None
    suppliers: int | None = None
    evidence: int | None = None
    catalogue: dict[str, int] | None = None
    texts: dict[str, int] | None = None
    index: dict[str, int | str] | None = None
    versions: dict[str, str] | None = None


class PromoteOut(BaseModel):
    candidate: str
    champion_before: str
    promoted: bool
    reason: str
    versions: dict[str, str]


class AuditEntryOut(BaseModel):
    id: int
    at: str
    actor: str
    action: str
    target: str
    detail: dict[str, Any]


class AuditOut(BaseModel):
    data: list[AuditEntryOut]
    count: int

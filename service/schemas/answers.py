"""What the service answers: one schema per wire shape (every JSON route declares its ``response_model``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


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
    probability: float | None = None
    confidence: str | None = None
    features: dict[str, float]
    explanation: ExplanationOut


class ProcurementOut(BaseModel):
    amount: float
    threshold: float
    direct_award_possible: bool
    message: str


class LikelyCpvOut(BaseModel):
    division: str
    code: str
    label: str
    probability: float


class MatchesOut(BaseModel):
    need_id: str | None = None
    likely_cpv: list[LikelyCpvOut] = Field(
        default=[],
        description="A free-text need's likely CPV divisions, likeliest first: only those its words move well above "
        "their share of past awards (none for a need that names its codes, or whose text says nothing of a purchase)",
    )
    procurement: ProcurementOut | None = None
    results: list[MatchOut]
    count: int
    clear_match: bool | None = Field(
        default=None,
        description="Whether a match is « forte » (calibrated); false: no start-up answers this need clearly; null without a calibrator",
    )
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


class MeOut(BaseModel):
    name: str
    role: str
    buyer_id: str | None
    key_id: str
    innovation_threshold_eur: float
    segments: list[str]
    segment_labels: dict[str, str]
    sizes: dict[str, str]
    versions: dict[str, str]


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


class SupplierFoundOut(BaseModel):
    supplier_id: str
    name: str
    region: str
    siren: str


class SuppliersFoundOut(BaseModel):
    data: list[SupplierFoundOut]
    count: int


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


class BarometerRowOut(BaseModel):
    """One group of the barometer's figures (its dimensions, then its measures; amounts in euros excl. VAT)."""

    year: int | None = None
    quarter: str | None = None
    ministry: str | None = None
    region: str | None = None
    division: str | None = None
    procedure: str | None = None
    contracts: int
    usable_contracts: int
    unusable: int = Field(description="award rows without a usable amount, holder id or date: counted apart, not in the shares")
    amount: float
    innovative_amount: float
    innovative_contracts: int
    innovative_share: float | None = Field(description="share of the amount won by labelled innovative companies")
    sme_amount: float
    sme_share: float | None
    sme_unknown_amount: float
    sme_unknown_share: float | None = Field(description="share of the amount whose holder's size no source states")
    flag_known_amount: float
    flagged_amount: float
    flagged_share: float | None = Field(
        description="share the buyers flagged innovative (marcheInnovant), over the amount where the flag is readable"
    )
    flagged_not_labelled: float
    labelled_not_flagged: float
    target_share: float | None = Field(default=None, description="the 2.4 % → 4 % trajectory's value for the year")


class BarometerTotalsOut(BaseModel):
    rows: int
    contracts: int
    first_year: int | None
    last_year: int | None
    unusable: int
    concessions: int
    buyers: int
    buyers_unmapped: int
    labelled_companies: int


class UnmappedBuyerOut(BaseModel):
    buyer_id: str
    name: str | None
    contracts: int
    amount: float


class BarometerOut(BaseModel):
    by: list[str]
    state_only: bool
    year: int | None
    rows: list[BarometerRowOut]
    totals: BarometerTotalsOut
    unmapped_buyers: list[UnmappedBuyerOut]


class FunnelRowOut(BaseModel):
    buyer_id: str
    lists: int = Field(description="lists sent (snapshots)")
    listed: int
    pertinent: int
    contacted: int
    pitched: int
    contracted: int
    awarded: int = Field(description="listed start-ups that won an award of the organisation after the list's date")


class FunnelOut(BaseModel):
    stages: list[str]
    data: list[FunnelRowOut]
    count: int


class OutcomeOut(BaseModel):
    buyer_id: str
    snapshot_id: int
    listed_at: str
    supplier_id: str
    name: str
    buyer_siret: str
    objet: str
    amount: float | None
    notified: str
    delay_days: int


class OutcomesOut(BaseModel):
    data: list[OutcomeOut]
    count: int


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


class AgentOrganisationOut(BaseModel):
    siret: str
    role: str
    buyer_id: str | None
    label: str
    updated_at: str
    updated_by: str


class AgentOrganisationsOut(BaseModel):
    data: list[AgentOrganisationOut]
    count: int

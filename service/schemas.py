"""Wire schemas of the HTTP API (apart from the domain objects)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator

from matcher.schema import SEGMENTS
from matcher.settings import MAX_K, MAX_TEXT_CHARS


class FiltersIn(BaseModel):
    segments: list[str] = Field(default_factory=list, max_length=10, description=f"any of {', '.join(SEGMENTS)}")
    regions: list[str] = Field(default_factory=list, max_length=30)
    tags: list[str] = Field(default_factory=list, max_length=20, description="all required")

    @field_validator("segments")
    @classmethod
    def _known_segments(cls, value: list[str]) -> list[str]:
        for segment in value:
            if segment not in SEGMENTS:
                raise ValueError(f"{segment!r} is not one of {', '.join(SEGMENTS)}")
        return value


class MatchRequest(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS, description="the need, in free text (French)")
    k: int = Field(default=10, ge=1, le=MAX_K)
    cpv: list[str] = Field(default_factory=list, max_length=20, description="CPV codes of the need")
    buyer_id: str = Field(default="", max_length=200)
    segment: str = Field(default="", max_length=40)
    filters: FiltersIn = Field(default_factory=FiltersIn)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is blank")
        return value.strip()

    @field_validator("cpv")
    @classmethod
    def _cpv_codes(cls, value: list[str]) -> list[str]:
        from matcher.schema import normalize_cpv

        codes = []
        for raw in value:
            code = normalize_cpv(raw)
            if code is None:
                raise ValueError(f"{raw!r} is not a CPV code (8 digits)")
            codes.append(code)
        return codes


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
    website: str
    features: dict[str, float]
    explanation: ExplanationOut


class MatchesOut(BaseModel):
    need_id: str | None = None
    results: list[MatchOut]
    count: int
    versions: dict[str, str]


class ShortlistEntryOut(BaseModel):
    rank: int
    supplier_id: str
    name: str
    region: str
    score: float
    needs: list[dict[str, Any]]


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

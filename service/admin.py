"""Administration (admin keys): API keys, catalogue imports, re-indexing, model promotion, audit log."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, HTTPException, Request
from fastapi import Query as QueryParam
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from matcher.app import Engine, learning, records
from matcher.app.imports import import_file
from matcher.app.ops import KeyStore
from matcher.app.vocabulary import RecordError, Supplier, canonical_id

from .auth import Admin
from .deps import EngineDep, IdParam, SettingsDep
from .schemas import ERROR_RESPONSES, AuditOut, ImportOut, KeyCreatedOut, KeyIn, KeysOut, PromoteOut, ReindexOut, SupplierWriteOut
from .uploads import import_summary, uploaded

router = APIRouter(prefix="/admin", tags=["admin"], responses=ERROR_RESPONSES)
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def _reload(request: Request) -> Engine:
    """Bring the served engine up to the catalogue (index updated in place of a copy) and swap it in."""
    return request.app.state.served.reload()


@router.post("/keys", status_code=201, response_model=KeyCreatedOut)
def create_key(body: KeyIn, principal: Admin, request: Request) -> dict:
    """A new API key; the token is shown in this answer only."""
    keys: KeyStore = request.app.state.keys
    try:
        key_id, token = keys.create(body.name, body.role, body.buyer_id, created_by=principal.label)  # audited in the same transaction
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return {"key_id": key_id, "token": token, "role": body.role, "buyer_id": body.buyer_id, "name": body.name}


@router.get("/keys", response_model=KeysOut)
def list_keys(principal: Admin, request: Request) -> dict:
    data = [vars(k) for k in request.app.state.keys.list()]
    return {"data": data, "count": len(data)}


@router.delete("/keys/{key_id}", status_code=204)
def revoke_key(key_id: IdParam, principal: Admin, request: Request) -> None:
    if not request.app.state.keys.revoke(key_id, actor=principal.label):
        raise HTTPException(404, detail=f"key_id : aucune clé active {key_id!r}")


@router.post("/suppliers/import", response_model=ImportOut)
async def import_suppliers(
    request: Request,
    principal: Admin,
    engine: EngineDep,
    format: Annotated[str, QueryParam(description="jsonl, csv, tsv, parquet or xlsx (docs/formats.md)")] = "jsonl",  # noqa: A002
    reindex: bool = True,
) -> dict:
    """Import a suppliers file (the body is the file); known suppliers are merged. Re-indexes unless ``reindex=false``."""
    async with uploaded(request, format) as path:
        result = import_file(engine.catalogue, "suppliers", path, f"api:{principal.label}", actor=principal.label)
    if reindex and result.report.accepted:
        await run_in_threadpool(_reload, request)
    return import_summary(result)


def _reindexed(engine: Engine) -> dict:
    return {
        "suppliers": len(engine.corpus),
        "evidence": len(engine.corpus.evidence),
        "catalogue": engine.last_update.get("suppliers", {}),
        "texts": engine.last_update.get("texts", {}),
        "index": engine.last_update.get("index", {}),
        "versions": engine.versions(),
    }


@router.post("/reindex", response_model=ReindexOut)
async def reindex(principal: Admin, request: Request) -> dict:
    """Publish a new index version if the catalogue changed (only new texts are encoded) and serve it.

    Requests in flight finish on the version they started with; the swap is one reference.
    """
    engine = await run_in_threadpool(_reload, request)
    engine.catalogue.audit(principal.label, "reindex", engine.versions()["index"])
    return _reindexed(engine)


@router.put("/suppliers/{supplier_id}", response_model=SupplierWriteOut, response_model_exclude_none=True)
async def upsert_supplier(
    supplier_id: IdParam, body: dict, principal: Admin, request: Request, engine: EngineDep, reindex: bool = True
) -> dict:
    """Add or replace one supplier (FORMATS.md record) and, unless ``reindex=false``, serve it at once.

    A PUT replaces the stored record (an import merges), in one transaction with its audit entry:
    a record that cannot be stored leaves the previous one in place.
    """
    try:
        if canonical_id(body.get("supplier_id", supplier_id), "supplier_id") != supplier_id:
            raise HTTPException(422, detail="supplier_id : celui du corps de la requête diffère de celui de l'URL")
        supplier = Supplier.from_raw({**body, "supplier_id": supplier_id})
    except RecordError as exc:
        raise HTTPException(422, detail=f"{exc.field} : {exc.message}") from None
    existed = records.replace_supplier(engine.catalogue, supplier, principal.label)
    if reindex:
        engine = await run_in_threadpool(_reload, request)
    return {"supplier_id": supplier_id, "created": not existed, **(_reindexed(engine) if reindex else {})}


@router.delete("/suppliers/{supplier_id}", response_model=SupplierWriteOut, response_model_exclude_none=True)
async def delete_supplier(supplier_id: IdParam, principal: Admin, request: Request, engine: EngineDep, reindex: bool = True) -> dict:
    """Remove a supplier from the catalogue and, unless ``reindex=false``, from the served index."""
    if not records.delete_supplier(engine.catalogue, supplier_id, principal.label):
        raise HTTPException(404, detail=f"supplier_id : fournisseur {supplier_id!r} introuvable")
    if reindex:
        engine = await run_in_threadpool(_reload, request)
    return {"supplier_id": supplier_id, "deleted": True, **(_reindexed(engine) if reindex else {})}


class PromoteIn(BaseModel):
    benchmark: str = Field(
        description="name of a benchmark folder under <data_dir>/bench (held out: later than the candidate's training needs)"
    )
    ship: bool = False


@router.post("/promote", response_model=PromoteOut)
async def promote_candidate(body: PromoteIn, principal: Admin, request: Request, settings: SettingsDep) -> dict:
    """Compare the registry's candidate with the champion on a held-out benchmark; promote it if it wins."""
    if not _SAFE_NAME.match(body.benchmark) or ".." in body.benchmark:
        raise HTTPException(422, detail="benchmark : le nom d'un dossier sous data/bench (lettres, chiffres, . _ -)")
    folder = settings.data_dir / "bench" / body.benchmark
    if not folder.is_dir():
        raise HTTPException(404, detail=f"benchmark : aucun dossier {body.benchmark!r} sous data/bench")
    served = request.app.state.served
    try:
        report, _ = await run_in_threadpool(learning.promote_candidate, settings, folder, principal.label, served, body.ship)
    except (LookupError, learning.TimeSplitError, ValueError) as exc:
        raise HTTPException(409, detail=f"promote : {exc}") from None
    engine = served.engine
    return {
        "candidate": report.candidate_version,
        "champion_before": report.champion,
        "promoted": report.decision.promote,
        "reason": report.decision.reason,
        "versions": engine.versions(),
    }


@router.get("/audit", response_model=AuditOut)
def audit_log(principal: Admin, engine: EngineDep, limit: Annotated[int, QueryParam(ge=1, le=1000)] = 100) -> dict:
    """The latest writes: who did what, when."""
    data = engine.catalogue.audit_log(limit)
    return {"data": data, "count": len(data)}

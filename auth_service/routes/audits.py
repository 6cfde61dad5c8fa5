"""Graph's directory audit logs (`/auditLogs/directoryAudits`), newest first, for holders of
AuditLog.Read.All: delegated administrators, or applications assigned that app role."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from auth_service.errors import BadRequest
from auth_service.graph.audit_filter import MAX_LENGTH, parse_audit_filter
from auth_service.graph.odata import context, parse_skiptoken, skiptoken
from auth_service.graph.query import SKIP, TOP, refuse_unknown
from auth_service.graph.responses import base_url, respond
from auth_service.graph.shapes import json_value
from auth_service.http.deps import caller
from auth_service.http.lean import QueryParam, read_route
from auth_service.oauth.permissions import AUDIT, AUDIT_LOGS
from corestore.objects import DirectoryAudit

router = APIRouter(prefix="/v1.0")
COLLECTION = "auditLogs/directoryAudits"
NEWEST_FIRST = "activityDateTime desc"
FILTER = QueryParam("$filter", max_length=MAX_LENGTH)
ORDER = QueryParam("$orderby", choices=(NEWEST_FIRST,))
LIST = (FILTER, TOP, ORDER, SKIP)


def to_graph(audit: DirectoryAudit) -> dict[str, Any]:
    return {
        "id": str(audit.id),
        "category": audit.category,
        "correlationId": json_value(audit.correlation_id),
        "result": "success",
        "resultReason": "",
        "activityDisplayName": audit.activity_display_name,
        "activityDateTime": json_value(audit.activity_at),
        "loggedByService": "Core Directory",
        "operationType": audit.operation_type,
        "initiatedBy": audit.initiated_by,
        "targetResources": audit.target_resources,
        "additionalDetails": [],
    }


async def list_audits(request: Request) -> Response:
    who = await caller(request, AUDIT, AUDIT_LOGS)
    refuse_unknown(request, LIST)
    query, top, token = parse_audit_filter(FILTER.read(request)), TOP.read(request), SKIP.read(request)
    ORDER.read(request)  # the one order served, and the default
    after = None
    if token is not None:
        key, after_id = parse_skiptoken(token, NEWEST_FIRST)
        try:
            after = (datetime.fromisoformat(key or ""), after_id)
        except ValueError:
            raise BadRequest("$skiptoken is not one this API returned") from None
    page = await who.session.directory_audits.list(query, top, after)
    payload: dict[str, Any] = {"@odata.context": context(base_url(request), COLLECTION, None)}
    payload["value"] = [to_graph(a) for a in page.items]
    if page.next_after is not None:
        next_token = skiptoken(NEWEST_FIRST, page.next_key, page.next_after)
        url = request.url.remove_query_params("$skiptoken").include_query_params(**{"$skiptoken": next_token})
        payload["@odata.nextLink"] = str(url)
    return respond(who, payload)


async def get_audit(request: Request) -> Response:
    who = await caller(request, AUDIT, AUDIT_LOGS)
    refuse_unknown(request, ())
    audit = await who.session.directory_audits.get(request.path_params["audit_id"])
    return respond(
        who, {"@odata.context": context(base_url(request), COLLECTION, None, True), **to_graph(audit)}
    )


read_route(f"/{COLLECTION}", list_audits, "list_directory_audits", *LIST, on=router)
read_route(f"/{COLLECTION}/{{audit_id}}", get_audit, "get_directory_audit", on=router)

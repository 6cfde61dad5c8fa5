"""The schemathesis run's one hook: valid requests keep to what the document cannot state.

JSON Schema cannot say which strings are a `$filter` or `$search` (a grammar) or a
`$skiptoken`/`$deltatoken` this API issued (opaque), nor that `$count=true` needs
`ConsistencyLevel: eventual`; generated *valid* requests therefore leave those out, and
invalid ones still send them (and must be refused). And schemathesis gives If-Match a
generator of its own (its coverage phase sends `If-Match: 0` as valid), ignoring the
document's pattern: a valid request keeps to the pattern. Nor can it say which bytes are a
certificate, or which keyId an application has: valid requests send no keyCredentials but
the empty list.
"""

from __future__ import annotations

import re
from typing import Any

import schemathesis

from auth_service.graph.odata import ETAG

GRAMMARS = frozenset({"$filter", "$search", "$skiptoken", "$deltatoken"})


@schemathesis.hook
def filter_case(context: Any, case: Any) -> bool:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return True
    query, headers = case.query or {}, case.headers or {}
    if "If-Match" in headers and not re.fullmatch(ETAG, str(headers["If-Match"])):
        return False
    counted_without_eventual = query.get("$count") == "true" and "ConsistencyLevel" not in headers
    body = case.body if isinstance(case.body, dict) else {}
    return not GRAMMARS & set(query) and not counted_without_eventual and not body.get("keyCredentials")

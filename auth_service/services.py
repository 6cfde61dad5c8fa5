"""The narrow parts the routes use, built once per instance by `auth_service.bootstrap`.

A handler takes the parts it needs from here (`http.deps.services`), never the whole
instance: a test can build any part with fakes, and no route reaches the store's
internals through it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from auth_service.http.deps import Gate
from auth_service.http.geo_fence import Confinement
from auth_service.keys.ring import KeyRing
from auth_service.metrics.families import FrontEndMetrics
from auth_service.oauth.csrf import CsrfGuard
from auth_service.oauth.grants import Grants
from auth_service.oauth.id_tokens import IdTokenIssuer
from auth_service.oauth.tenants import Tenants
from auth_service.oauth.tokens import TokenVerifier
from corestore.operator import Operator


@dataclass(frozen=True)
class Services:
    region: str
    gate: Gate  # Graph requests: token, permission, session, geo, throttle
    tenants: Tenants  # tenants named in a path, and their authentication sessions
    grants: Grants  # the token endpoint's grants, and the sign-in page's password check
    confinement: Confinement  # which geo this instance serves
    verifier: TokenVerifier
    id_tokens: IdTokenIssuer
    keys: KeyRing
    csrf: CsrfGuard
    operator: Operator  # the operator API's tenant creation
    operator_key: str
    metrics: FrontEndMetrics
    readiness: Callable[[], Awaitable[list[str]]]  # why this instance cannot serve its geo now

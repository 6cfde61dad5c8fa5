"""A front end's metrics registry: the HTTP families (`metrics.http`), and the token endpoint's,
which prometheus-client counts itself (a sign-in costs an argon2 hash; a lock is nothing there).

Labels are bounded by construction: grant types, results, AADSTS codes; never a tenant,
user or application id.
"""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter

from auth_service.metrics.http import HttpCounts

AADSTS = re.compile(r"AADSTS\d+")


class FrontEndMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.http = HttpCounts()
        r.register(self.http)
        self.tokens = Counter(
            "corestore_tokens", "Token requests, by grant type and result", ("grant", "result"), registry=r
        )
        self.sign_in_failures = Counter(
            "corestore_sign_in_failures", "Refused sign-ins, by AADSTS code", ("code",), registry=r
        )
        self.lockouts = Counter(
            "corestore_sign_in_lockouts", "Sign-ins refused because the account is locked", registry=r
        )

    def token(self, grant: str, result: str, message: str | None = None) -> None:
        """A token request's outcome; a refusal's AADSTS code, if its message has one."""
        self.tokens.labels(grant, result).inc()
        if message is not None:
            found = AADSTS.match(message)
            self.sign_in_failures.labels(found.group() if found else "none").inc()

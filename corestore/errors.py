"""One error hierarchy for the core store; `auth_service` maps each to an HTTP status once."""


class CoreStoreError(Exception):
    """Base of every error raised by `corestore`."""


class NotFound(CoreStoreError):
    """No such object in this tenant (also what another tenant's object looks like)."""


class TenantNotFound(NotFound):
    """No such tenant in this cloud."""


class Conflict(CoreStoreError):
    """A unique key (user principal name, domain, membership, ...) is already taken."""


class KeyTaken(Conflict):
    """A deleted object cannot come back: another object took its unique property meanwhile
    (Graph answers this one as a bad request, naming the property)."""


class InvalidRequest(CoreStoreError, ValueError):
    """Input the store refuses: bad values, unknown attributes, a malformed filter."""


class PreconditionFailed(CoreStoreError):
    """The object changed since the caller read it (ETag mismatch)."""


class LocationImmutable(CoreStoreError):
    """A tenant's cloud, geo and scale unit are fixed at creation."""


class Unavailable(CoreStoreError):
    """No server of the tenant's scale unit could serve the request."""


class CommitUncertain(Unavailable):
    """A commit did not come back (too slow a quorum, a broken connection): it may have committed."""


class NoCapacity(CoreStoreError):
    """No scale unit of the tenant's geo has room (or the geo has none in this cluster)."""


class TenantMoved(Unavailable):
    """The tenant is being moved off (or has left) the scale unit asked: nothing was written;
    ask again once placement shows its new unit."""


class MoveInProgress(Conflict):
    """Another move of the same tenant is running."""

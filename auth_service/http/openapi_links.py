"""OpenAPI links from each create to what can be done with the object it made.

A 201 of `POST P` links to every get, update and delete under `P/{param}`: the object's
own, its members' and memberships' lists, its app role assignments, with `param` from the created
object's `id` and the path's other parameters from the create's own path. Clients can
follow them; schemathesis's stateful phase does, so get, update and delete by id meet real
objects rather than random ids that are always 404. Found from the paths, so a new route
under a collection is linked as it lands.
"""

from __future__ import annotations

from typing import Any

# What the create's answer is enough for; a POST below it (a member, an assignment) needs more in
# its body, which would make its 404 about that, not about the object just made.
FOLLOWED = frozenset({"get", "patch", "delete"})


def _params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


def _links(source: str, paths: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    prefix = source.rstrip("/") + "/{"
    own = set(_params(source))
    for target, operations in paths.items():
        if not target.startswith(prefix):
            continue
        made = target[len(prefix) :].split("}", 1)[0]
        if "/" in made:
            continue
        parameters = {made: "$response.body#/id"}
        parameters |= {name: f"$request.path.{name}" for name in _params(target) if name in own}
        if set(parameters) != set(_params(target)):
            continue  # it needs more than the create tells
        for operation in operations.values():
            found[operation["operationId"]] = {
                "operationId": operation["operationId"],
                "parameters": parameters,
            }
    return found


def add_links(paths: dict[str, Any]) -> None:
    """Links on the 201 response of every `POST` that creates something addressable below it."""
    for path, operations in paths.items():
        created = operations.get("post", {}).get("responses", {}).get("201")
        if created is not None and (links := _links(path, paths)):
            created["links"] = links

"""The workload table: name -> workload; a system workload names its baseline and its goals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.context import Context
from bench.dbreads import LibraryRead, RawRead
from bench.generator import ClientSpec, Load
from bench.goals import Goal
from bench.httpload import CreateUser, GetRow, IssueToken, WriteThenRead
from bench.measured import Measured
from bench.rows import OneRow
from bench.sweep import NAME as SWEEP
from bench.sweep import run_sweep
from bench.verify import VerifyTokens, verify_cpu


@dataclass(frozen=True)
class Workload:
    name: str
    summary: str
    run: Callable[[Context], list[Measured]]
    needs_frontend: bool = False
    baseline: str | None = None
    goals: tuple[Goal, ...] = ()

    @property
    def repeated(self) -> bool:
        """Run once per round; the sweep runs once (it reseeds between sizes)."""
        return self.name != SWEEP

    def planned_runs(self, quick: bool, rounds: int) -> int:
        from bench.sweep import sizes

        return rounds if self.repeated else len(sizes(quick))


def _measure(
    name: str, spec: Callable[[Context], ClientSpec], load: Callable[[Context], Load] | None = None
) -> Callable[[Context], list[Measured]]:
    def run(ctx: Context) -> list[Measured]:
        return [Measured(name, name, ctx.measure(name, spec(ctx), load(ctx) if load else None))]

    return run


def _pinned(ctx: Context) -> Load:
    return ctx.load(processes=1, tasks=1, pin_cpu=verify_cpu())


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in [
        Workload(
            "library-read",
            "a user by id: TenantSession.users.get on the nearest replica",
            _measure("library-read", lambda c: LibraryRead(c.directory, c.region, OneRow(c.library_row))),
            baseline="raw-read",
            goals=(Goal("library read throughput", "library-read", "throughput", ">=", 0.85, "raw-read"),),
        ),
        Workload(
            "raw-read",
            "baseline: raw asyncpg prepared fetchrow of the same row on the same replica",
            _measure("raw-read", lambda c: RawRead(c.replica_dsn(c.library_row), c.library_row)),
        ),
        Workload(
            "http-read",
            "GET /v1.0/users/{id} with a bearer token through a front end",
            _measure("http-read", lambda c: GetRow(c.http.write_url, c.http.row.user_id, c.http.app_tokens)),
            needs_frontend=True,
            baseline="asgi-read",
            goals=(
                Goal("HTTP read throughput", "http-read", "throughput", ">=", 0.6, "asgi-read"),
                Goal("HTTP read p99", "http-read", "p99_us", "<=", 2.0, "asgi-read"),
            ),
        ),
        Workload(
            "asgi-read",
            "baseline: a plain ASGI callable under the same uvicorn, raw read of the same row",
            _measure("asgi-read", lambda c: GetRow(c.asgi_url, c.http.row.user_id, c.http.app_tokens)),
            needs_frontend=True,
        ),
        Workload(
            "token-verify",
            "the front end's token verifier in-process, a signature checked per call, one pinned core",
            _measure(
                "token-verify",
                lambda c: VerifyTokens(c.directory, c.region, c.http.app_tokens, cold=True),
                _pinned,
            ),
            needs_frontend=True,
            goals=(
                Goal("token verifications per core per second", "token-verify", "throughput", ">=", 20_000),
            ),
        ),
        Workload(
            "token-verify-remembered",
            "as token-verify, but tokens seen before (the verifier's memory answers, the common case)",
            _measure(
                "token-verify-remembered",
                lambda c: VerifyTokens(c.directory, c.region, c.http.app_tokens, cold=False),
                _pinned,
            ),
            needs_frontend=True,
        ),
        Workload(
            "token-issue-client",
            "client-credentials grant over HTTP",
            _measure(
                "token-issue-client",
                lambda c: IssueToken(c.http.write_url, c.http.token_path, c.http.client_forms),
            ),
            needs_frontend=True,
        ),
        Workload(
            "token-issue-password",
            "password grant over HTTP (argon2id verification by design)",
            _measure(
                "token-issue-password",
                lambda c: IssueToken(c.http.write_url, c.http.token_path, (c.http.password_form,)),
            ),
            needs_frontend=True,
        ),
        Workload(
            "write",
            "create a user over HTTP (primary)",
            _measure("write", lambda c: CreateUser(c.http.write_url, c.http.writers)),
            needs_frontend=True,
        ),
        Workload(
            "write-read-pair",
            "create in one region, read it through another region's front end",
            _measure(
                "write-read-pair", lambda c: WriteThenRead(c.http.write_url, c.http.read_url, c.http.writers)
            ),
            needs_frontend=True,
            goals=(Goal("read-your-writes across regions", "write-read-pair", "ok_fraction", ">=", 1.0),),
        ),
        Workload(
            SWEEP,
            "library point reads of random (tenant, user) pairs as tenants grow tenfold",
            run_sweep,
            goals=(
                Goal("point-read p99 growth", f"{SWEEP}@largest", "p99_us", "<=", 1.25, f"{SWEEP}@smallest"),
            ),
        ),
    ]
}

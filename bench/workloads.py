"""The workload table: name -> workload; a system workload names its baseline and its goals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.context import Context
from bench.db.reads import LibraryRead, RawRead
from bench.db.rows import OneRow
from bench.db.writes import LibraryWrite, RawWrite
from bench.generator import ClientSpec, Load
from bench.goals import Goal
from bench.http.load import CreateUser, GetRow, IssueToken, WriteThenRead
from bench.measured import Measured
from bench.mixed import SIGN_INS_PER_S, ReadsWithSignIns
from bench.sweep import NAME as SWEEP
from bench.sweep import run_sweep
from bench.verify import RawVerify, VerifyTokens, verify_cpu

MIXED = "mixed"
READ_ONLY = "mixed-read-only"


@dataclass(frozen=True)
class Workload:
    name: str
    summary: str
    run: Callable[[Context], list[Measured]]
    needs_frontend: bool = False
    baseline: str | None = None
    goals: tuple[Goal, ...] = ()
    measurements: int = 1  # windows per round, for the progress bar

    @property
    def repeated(self) -> bool:
        """Run once per round; the sweep runs once (it reseeds between sizes)."""
        return self.name != SWEEP

    def planned_runs(self, quick: bool, rounds: int) -> int:
        from bench.sweep import sizes

        return rounds * self.measurements if self.repeated else len(sizes(quick))


def _measure(
    name: str,
    spec: Callable[[Context], ClientSpec],
    load: Callable[[Context], Load] | None = None,
    servers: Callable[[Context], tuple[int, ...]] = lambda c: (),
) -> Callable[[Context], list[Measured]]:
    """`servers`: the pids under test, whose CPU seconds give requests per server CPU-second."""

    def run(ctx: Context) -> list[Measured]:
        measured = ctx.measure(name, spec(ctx), load(ctx) if load else None, servers(ctx))
        return [Measured(name, name, measured)]

    return run


def _writer(ctx: Context) -> tuple[int, ...]:
    return (ctx.http.write_pid,)


def _mixed(ctx: Context) -> list[Measured]:
    """Read-only first, then the same reads beside sign-ins: both in this run, on the same front end."""
    http = ctx.http
    reads = GetRow(http.write_url, http.row.user_id, http.app_tokens)
    alone = ctx.measure(READ_ONLY, reads, server_pids=_writer(ctx))
    processes = ctx.load().processes
    mixed = ReadsWithSignIns(
        reads, http.write_url, http.token_path, http.password_form, SIGN_INS_PER_S, processes
    )
    beside = ctx.measure(MIXED, mixed, server_pids=_writer(ctx))
    return [Measured(READ_ONLY, MIXED, alone), Measured(MIXED, MIXED, beside)]


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
            goals=(Goal("library read throughput", "library-read", "throughput", ">=", 0.95, "raw-read"),),
        ),
        Workload(
            "raw-read",
            "baseline: raw asyncpg prepared fetchrow of the same row on the same replica",
            _measure("raw-read", lambda c: RawRead(c.replica_dsn(c.library_row), c.library_row)),
        ),
        Workload(
            "library-write",
            "create a user: TenantSession.users.create on the tenant's primary, with its commit position",
            _measure("library-write", lambda c: LibraryWrite(c.directory, c.region, c.library_row)),
            baseline="raw-write",
            goals=(Goal("library write throughput", "library-write", "throughput", ">=", 0.7, "raw-write"),),
        ),
        Workload(
            "raw-write",
            "baseline: the same INSERT, raw asyncpg, same primary, tenant set per connection, autocommit",
            _measure("raw-write", lambda c: RawWrite(c.primary_dsn(c.library_row), c.library_row)),
        ),
        Workload(
            "http-read",
            "GET /v1.0/users/{id} with a bearer token through a front end",
            _measure(
                "http-read",
                lambda c: GetRow(c.http.write_url, c.http.row.user_id, c.http.app_tokens),
                servers=_writer,
            ),
            needs_frontend=True,
            baseline="asgi-read",
            goals=(
                Goal("HTTP read throughput", "http-read", "throughput", ">=", 0.7, "asgi-read"),
                Goal("HTTP read p99", "http-read", "p99_us", "<=", 1.4, "asgi-read"),
            ),
        ),
        Workload(
            "asgi-read",
            "baseline: a plain ASGI callable under the same ASGI server, raw read of the same row",
            _measure(
                "asgi-read",
                lambda c: GetRow(c.asgi[0], c.http.row.user_id, c.http.app_tokens),
                servers=lambda c: (c.asgi[1],),
            ),
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
            baseline="token-verify-raw",
            goals=(Goal("token verification", "token-verify", "throughput", ">=", 0.6, "token-verify-raw"),),
        ),
        Workload(
            "token-verify-raw",
            "baseline: cryptography's signature check alone, same tokens, same key objects, one pinned core",
            _measure(
                "token-verify-raw", lambda c: RawVerify(c.directory, c.region, c.http.app_tokens), _pinned
            ),
            needs_frontend=True,
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
                servers=_writer,
            ),
            needs_frontend=True,
            goals=(
                # 4x Keycloak's sizing guide (120 client-credential grants/s per vCPU).
                Goal(
                    "client-credential grants per front-end CPU-second",
                    "token-issue-client",
                    "per_cpu_s",
                    ">=",
                    480,
                ),
            ),
        ),
        Workload(
            "token-issue-password",
            "password grant over HTTP (argon2id verification by design)",
            _measure(
                "token-issue-password",
                lambda c: IssueToken(c.http.write_url, c.http.token_path, (c.http.password_form,)),
                servers=_writer,
            ),
            needs_frontend=True,
        ),
        Workload(
            MIXED,
            f"http-read beside {SIGN_INS_PER_S:g} password sign-ins/s; first the reads alone ({READ_ONLY})",
            _mixed,
            needs_frontend=True,
            baseline=READ_ONLY,
            goals=(Goal("read p99 beside sign-ins", MIXED, "p99_us", "<=", 1.3, READ_ONLY),),
            measurements=2,
        ),
        Workload(
            "write",
            "create a user over HTTP (primary)",
            _measure("write", lambda c: CreateUser(c.http.write_url, c.http.writers), servers=_writer),
            needs_frontend=True,
        ),
        Workload(
            "write-read-pair",
            "create in one region, read it through another region's front end",
            _measure(
                "write-read-pair",
                lambda c: WriteThenRead(c.http.write_url, c.http.read_url, c.http.writers),
                servers=lambda c: (c.http.write_pid, c.http.read_pid),
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

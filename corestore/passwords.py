"""Password hashing with argon2id, slow on purpose because people choose passwords.

A sign-in for a user that does not exist verifies against `DUMMY_HASH`, made with
the same parameters as real hashes, so it costs the same work as a wrong password
and the response time does not tell which names exist.

Each hash or verification is milliseconds of CPU (~4 ms with argon2 built for this CPU,
see `scripts/bootstrap`; ~13 ms with PyPI's portable build), so it never runs on the event
loop: it runs in a small thread pool of its own (argon2 releases the GIL while it works),
and the pool's size bounds how many run at once, so a burst of sign-ins queues there
instead of starving the loop that serves reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

from argon2 import Parameters, PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

# One of OWASP's argon2id configurations, all of equal defence (its cheat sheet: 19 MiB and 2
# passes, ..., 7 MiB and 5 passes; 1 lane): the least memory. Measured beside reads (`bench
# mixed`), the memory is what hurts: a separate process verifying 20 a second with 19 MiB at
# idle priority cost the front end's reads 11% (the caches they share), where a process spending
# the same CPU without memory cost them nothing. Hashes made with other parameters are replaced
# at their user's next sign-in (`needs_rehash`).
PARAMETERS = Parameters(
    type=Type.ID, version=19, salt_len=16, hash_len=32, time_cost=5, memory_cost=7 * 1024, parallelism=1
)
HASHER = PasswordHasher.from_parameters(PARAMETERS)
DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(32))
NICENESS = 10


def _yield_to_the_loop() -> None:
    """Each hashing thread runs at a lower scheduling priority than the event loop's thread,
    so on a busy machine the kernel runs reads first and sign-ins take the spare CPU. Not
    SCHED_IDLE, though it measured better beside reads: the thread holds the GIL between
    hashes, and at idle priority a busy machine could keep it, and so the loop, waiting."""
    os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)


# One thread per core but one, which is left to the event loop (reads keep a core however
# many sign-ins arrive); at least one thread. More threads would only queue in the kernel.
POOL = ThreadPoolExecutor(
    max_workers=max(1, (os.cpu_count() or 1) - 1), thread_name_prefix="argon2", initializer=_yield_to_the_loop
)


def queue_depth() -> int:
    """Hashing jobs waiting for a thread (for metrics)."""
    return POOL._work_queue.qsize()


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(POOL, HASHER.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True only for the right password; no hash (unknown user) costs a full verification too."""
    return await asyncio.get_running_loop().run_in_executor(POOL, _verify, password_hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    """A missing hash verifies against `DUMMY_HASH` (then refuses): the same work either way."""
    try:
        return HASHER.verify(password_hash or DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash predates `PARAMETERS`: the password grant then stores a fresh hash."""
    with contextlib.suppress(InvalidHashError):
        return HASHER.check_needs_rehash(password_hash)
    return True

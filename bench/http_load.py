"""Concurrent HTTP load for a bounded time: the loop every server benchmark uses.

`load` runs `concurrency` client threads, each cycling through `paths` (offset so they do not
move in lockstep) until `seconds` have passed, and reports what they saw.
"""

import statistics
import threading
import time


def load(
    base: str, paths: list[str], seconds: float, concurrency: int, timeout: float = 30
) -> dict:
    """req/s and p50/p99 (ms, over every 200 answer), status counts, 5xx and failures.

    ``errors`` counts every answer that is not a 200 (and every connection failure) by status;
    ``database_is_locked_in_answers`` counts bodies that mention SQLite's lock error.
    """
    import httpx

    latencies: list[float] = []
    statuses: dict[str, int] = {}
    locked = 0
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(offset: int) -> None:
        nonlocal locked
        with httpx.Client(base_url=base, timeout=timeout) as http:
            i = offset
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    response = http.get(paths[i % len(paths)])
                    status, body = str(response.status_code), response.text
                except httpx.HTTPError as exc:
                    status, body = type(exc).__name__, ""
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                    locked += "database is locked" in body
                    if status == "200":
                        latencies.append(elapsed)
                i += 1

    threads = [threading.Thread(target=client, args=(n * 7,)) for n in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    total = sum(statuses.values())
    return {
        "requests": total,
        "req_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 2) if latencies else None,
        "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))], 2) if latencies else None,
        "status_counts": statuses,
        "errors": {s: n for s, n in statuses.items() if s != "200"},
        "5xx": sum(n for s, n in statuses.items() if s.startswith("5")),
        "database_is_locked_in_answers": locked,
    }

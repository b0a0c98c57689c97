"""Spoofed X-Forwarded-For traffic from several processes against the rate limits.

    python bench/abuse.py [--seconds 30] [--processes-per-route 2] [--workers 3] [--port 8200]
                          [--workdir /tmp/coolpapers-abuse] [--cache-url redis://...]

Prepares a small data directory (300 sample papers, a tantivy index, one user), starts gunicorn
with `--workers` processes on 127.0.0.1:`--port` with the limits as configured by default,
then for `--seconds` per mode sends requests from `--processes-per-route` client processes per
route as fast as they are answered, each with a new random X-Forwarded-For: the JSON API,
/api/query, the search page, sign-up, log-in (wrong passwords for one username) and password
reset. Two modes: `direct` (TRUSTED_PROXY_COUNT=0: the header is ignored) and `behind_proxy`
(TRUSTED_PROXY_COUNT=1, with the client emulating a proxy that appends the attacker's real
address after the spoofed entries).

Prints JSON per mode and route: requests sent (what an unlimited server would have allowed:
the baseline), allowed (any answer but 429), refused (429), server errors (5xx), and
configured: the limit times the number of limit windows the run overlapped. Goal: allowed <=
configured on every route, with no 5xx.
"""

import argparse
import json
import multiprocessing
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)

VICTIM = "victim"
PASSWORD = "correct-horse-battery-staple"
# Route -> the RATE_LIMITS scope that bounds it (the tightest one that applies).
ROUTES = {
    "api_v1": "api",
    "api_query": "arxiv_query",
    "search_page": "search",
    "signup": "signup",
    "login_one_username": "login_user",
    "password_reset": "password_reset",
}

PREPARE = f"""
import gzip, io, itertools
from django.conf import settings
from django.contrib.auth.models import User
from papers.ingest.snapshot import load_snapshot
from search.backends.base import get_search_backend
with gzip.open(settings.SAMPLE_PATH) as f:
    load_snapshot(io.BytesIO(b"".join(itertools.islice(f, 300))))
get_search_backend().rebuild()
User.objects.filter(username="{VICTIM}").delete()
User.objects.create_user("{VICTIM}", "victim@example.org", "{PASSWORD}")
"""


# Tighter than the shipped defaults so that even a slow, shared machine sends more than each
# limit allows within the run (--default-rates uses the shipped ones).
TIGHT_RATES = {
    "API_ANON_RATE": "40/min",
    "ARXIV_QUERY_RATE": "10/min",
    "SEARCH_RATE": "20/min",
    "SIGNUP_RATE": "5/h",
    "LOGIN_RATE": "30/15min",
    "LOGIN_USER_RATE": "3/15min",
    "PASSWORD_RESET_RATE": "3/h",
}


def _env(workdir: Path, cache_url: str | None, proxies: int, rates: dict) -> dict:
    env = {**os.environ, "DATA_DIR": str(workdir), "ML_AUTO_TRAIN": "false"}
    env["TRUSTED_PROXY_COUNT"] = str(proxies)
    env["HF_HUB_OFFLINE"] = "1"
    env["EMAIL_URL"] = "memorymail://"  # reset mails are sent, into memory
    env.pop("DATABASE_URL", None)
    env.update(rates)
    if cache_url:
        env["CACHE_URL"] = cache_url
    return env


def prepare(workdir: Path, env: dict) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [*manage, "shell", "-c", PREPARE], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
    )


def configured_limits(env: dict) -> dict:
    code = (
        "import json; from django.conf import settings; from papers.ratelimit import Rate;"
        "print(json.dumps({k: [Rate.parse(v).limit, Rate.parse(v).window]"
        " for k, v in settings.RATE_LIMITS.items() if v}))"
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _spoofed(rng: random.Random) -> str:
    return ".".join(str(rng.randrange(1, 255)) for _ in range(4))


def attack(base: str, route: str, seconds: float, seed: int, proxy: bool, queue) -> None:
    """One client process on one route, as fast as answered, a fresh spoofed address each time."""
    import httpx

    rng = random.Random(seed)
    real = "198.51.100.7"  # the attacker's own address, appended by the emulated proxy
    counts = {name: {"sent": 0, "allowed": 0, "refused": 0, "errors": 0} for name in ROUTES}
    with httpx.Client(base_url=base, timeout=30) as client:
        client.get("/accounts/login/")  # a CSRF cookie for the forms
        deadline = time.monotonic() + seconds
        n = 0
        while time.monotonic() < deadline:
            n += 1
            spoof = _spoofed(rng)
            forwarded = f"{spoof}, {real}" if proxy else spoof
            token = client.cookies.get("csrftoken", "")  # rotated by each sign-up's log-in
            headers = {"x-forwarded-for": forwarded, "x-csrftoken": token, "referer": base + "/"}
            name = f"bot{seed}-{n}-{rng.randrange(10**9)}"
            try:
                if route == "api_v1":
                    response = client.get("/api/v1/categories", headers=headers)
                elif route == "api_query":
                    params = {"search_query": "all:learning", "max_results": 5}
                    response = client.get("/api/query", params=params, headers=headers)
                elif route == "search_page":
                    response = client.get("/search", params={"q": "learning"}, headers=headers)
                elif route == "signup":
                    data = {"username": name, "password1": PASSWORD, "password2": PASSWORD}
                    response = client.post("/accounts/signup/", data=data, headers=headers)
                    client.cookies.delete("sessionid")
                elif route == "login_one_username":
                    data = {"username": VICTIM, "password": f"guess-{n}"}
                    response = client.post("/accounts/login/", data=data, headers=headers)
                else:
                    data = {"email": "victim@example.org"}
                    response = client.post("/accounts/password_reset/", data=data, headers=headers)
            except httpx.HTTPError:
                counts[route]["sent"] += 1
                counts[route]["errors"] += 1
                continue
            c = counts[route]
            c["sent"] += 1
            if response.status_code == 429:
                c["refused"] += 1
            elif response.status_code >= 500 or response.status_code == 403:
                c["errors"] += 1  # 403 would be a CSRF failure of the bench, not a limit
            else:
                c["allowed"] += 1
    queue.put(counts)


def run_mode(args, workdir: Path, proxies: int) -> dict:
    import httpx

    env = _env(workdir, args.cache_url, proxies, args.rates)
    limits = configured_limits(env)
    clear = "from django.core.cache import cache; cache.clear()"
    flush = [sys.executable, "manage.py", "shell", "-c", clear]
    base = f"http://127.0.0.1:{args.port}"
    command = [sys.executable, "-m", "gunicorn", "papers.wsgi", "--bind", f"127.0.0.1:{args.port}"]
    command += ["--workers", str(args.workers), "--log-level", "warning"]
    # Each refusal is logged by Django as a warning: thousands of lines, not shown.
    server = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    try:
        for _ in range(150):
            try:
                if httpx.get(f"{base}/accounts/login/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise SystemExit("gunicorn did not start")
        # Counters start empty: the start-up probes and earlier runs do not count.
        subprocess.run(flush, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        queue = multiprocessing.Queue()
        started = time.time()
        clients = [
            multiprocessing.Process(
                target=attack, args=(base, route, args.seconds, seed, proxies > 0, queue)
            )
            for seed, route in enumerate(
                route for route in ROUTES for _ in range(args.processes_per_route)
            )
        ]
        for p in clients:
            p.start()
        results = [queue.get() for _ in clients]
        for p in clients:
            p.join()
        finished = time.time()
    finally:
        server.terminate()
        server.wait(timeout=30)
    out = {}
    for route, scope in ROUTES.items():
        total = {
            k: sum(r[route][k] for r in results) for k in ("sent", "allowed", "refused", "errors")
        }
        limit, window = limits[scope]
        windows = int(finished // window) - int(started // window) + 1
        out[route] = {
            **total,
            "limit": f"{limit}/{window}s ({scope})",
            "windows": windows,
            "configured": limit * windows,
            "ok": total["allowed"] <= limit * windows and total["errors"] == 0,
        }
    return {"seconds": round(finished - started, 1), "routes": out}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--processes-per-route", type=int, default=2)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--port", type=int, default=8200)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/coolpapers-abuse"))
    parser.add_argument("--cache-url", default=None, help="e.g. redis://127.0.0.1:6379/7")
    parser.add_argument("--modes", default="direct,behind_proxy")
    parser.add_argument("--default-rates", action="store_true", help="the shipped limits")
    args = parser.parse_args()
    workdir = args.workdir.resolve()
    args.rates = {} if args.default_rates else TIGHT_RATES
    prepare(workdir, _env(workdir, args.cache_url, 0, args.rates))
    modes = {"direct": 0, "behind_proxy": 1}
    result = {
        "cache": args.cache_url or f"filecache://{workdir}/cache",
        "rates": "shipped defaults" if args.default_rates else TIGHT_RATES,
        "gunicorn_workers": args.workers,
        "client_processes": args.processes_per_route * len(ROUTES),
        "modes": {m: run_mode(args, workdir, modes[m]) for m in args.modes.split(",")},
    }
    result["goal_met"] = all(
        r["ok"] for mode in result["modes"].values() for r in mode["routes"].values()
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

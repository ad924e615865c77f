"""The load driver of `make bench` (run by bench/run.py; not meant to be started by hand).

Every simulated user signs in once per role (through the real login form, CSRF token taken from
the page), then all of them follow one schedule: each page in turn for a fixed time, every one of
them requesting that page as fast as the server answers (a closed loop, no think time: the
capacity of the server for that page), with the bare page measured the same way between them;
then a realistic mix of all pages, each user pausing 1–3 s between clicks (the latency people
see). The figures of the warm-up at the start of each phase are dropped.

The API lines of the plan are sent as a script sends them: on a connection of their own, without
the session cookie, with the user's personal access token (`Authorization: Bearer`, created by
plan.py) and `Accept: application/json`.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
from collections import defaultdict
from typing import Any

import gevent
from forms import post_forms
from locust import FastHttpUser, constant, events, task
from locust.contrib.fasthttp import FastHttpSession
from pages import PAGES

with open(os.environ["BENCH_PLAN"], encoding="utf-8") as _plan:
    PLAN = json.load(_plan)
RESULTS = os.environ["BENCH_RESULTS"]
PASSWORD = os.environ["BENCH_PASSWORD"]
BARE_URL = os.environ.get("BENCH_BARE_URL", "/_bench/bare")
WARMUP = float(os.environ.get("BENCH_WARMUP_SECONDS", "2"))
MEASURE = float(os.environ.get("BENCH_MEASURE_SECONDS", "6"))
MIXED = float(os.environ.get("BENCH_MIXED_SECONDS", "45"))
THINK = tuple(float(x) for x in os.environ.get("BENCH_THINK_SECONDS", "1-3").split("-"))
BARE_EVERY = int(os.environ.get("BENCH_BARE_EVERY", "6"))
USERS = len(PLAN["slots"])
READY_TIMEOUT = 240.0  # seconds for every simulated user to sign in
SPECS = {page.name: page for page in PAGES}


def _schedule() -> list[dict[str, Any]]:
    phases: list[dict[str, Any]] = [{"page": "bare page"}]
    # Measured alone: every page of the plan, or those `bench/run.py --only` chose; the realistic
    # mix draws from every page either way.
    alone = [page for page in PLAN["pages"] if page.get("alone", True)]
    for i, page in enumerate(alone, start=1):
        phases.append({"page": page["name"]})
        if i % BARE_EVERY == 0 and i != len(alone):
            phases.append({"page": "bare page"})
    phases.append({"page": "bare page"})
    start = 0.0
    for phase in phases:
        phase["start"], phase["measure_from"] = start, start + WARMUP
        start = phase["end"] = start + WARMUP + MEASURE
    if MIXED > 0:
        phases.append(
            {
                "page": "realistic mix",
                "start": start,
                "measure_from": start + WARMUP,
                "end": start + WARMUP + MIXED,
            }
        )
    return phases


SCHEDULE = _schedule()
PAGE_BY_NAME = {page["name"]: page for page in PLAN["pages"]}

# One process, so plain module state is shared by all simulated users (gevent, no threads).
state: dict[str, Any] = {
    "ready": 0,
    "t0": None,
    "slot": 0,
    "first_try": {},
    "skipped": {},
    "login_failures": 0,
}
# (phase index, page name) -> list of (seconds, as expected, status, query count)
samples: dict[tuple[int, str], list[tuple[float, bool, int, int | None]]] = defaultdict(list)


def _phase_at(now: float) -> tuple[int, dict[str, Any]] | None:
    elapsed = now - state["t0"]
    for i, phase in enumerate(SCHEDULE):
        if phase["start"] <= elapsed < phase["end"]:
            return i, phase
    return None


class BenchUser(FastHttpUser):
    wait_time = constant(0)
    network_timeout = 60.0
    connection_timeout = 10.0

    def on_start(self) -> None:
        self.slot = state["slot"]
        state["slot"] += 1
        self.rng = random.Random(self.slot)
        self.sessions: dict[str, FastHttpSession] = {}
        for role, email in PLAN["slots"][self.slot % USERS].items():
            self.sessions[role] = self._signed_in(email)
        self.sessions["anonymous"] = self._session()
        self.sessions["api"] = self._session()  # never signed in: the token alone authenticates
        state["ready"] += 1
        deadline = time.perf_counter() + READY_TIMEOUT
        while state["ready"] < USERS and time.perf_counter() < deadline:
            gevent.sleep(0.05)
        if state["t0"] is None:
            state["t0"] = time.perf_counter() + 0.5

    def _session(self) -> FastHttpSession:
        return FastHttpSession(
            self.host,
            self.environment.events.request,
            user=self,
            network_timeout=60.0,
            connection_timeout=10.0,
        )

    def _signed_in(self, email: str) -> FastHttpSession:
        session = self._session()
        page = session.get("/login", name="sign in (setup)")
        (form,) = [f for f in post_forms(page.text, self.host + "/login") if f.field("password")]
        data = [(k, v) for k, v in form.values() if k not in ("email", "password")]
        data += [("email", email), ("password", PASSWORD)]
        resp = session.post(
            "/login", data=_encode(data), name="sign in (setup)", allow_redirects=False, headers=FORM
        )
        if resp.status_code != 302:
            state["login_failures"] += 1
        return session

    @task
    def run_schedule(self) -> None:
        while time.perf_counter() < state["t0"]:
            gevent.sleep(0.01)
        now = time.perf_counter()
        found = _phase_at(now)
        if found is None:
            if now - state["t0"] >= SCHEDULE[-1]["end"]:
                gevent.spawn(self.environment.runner.quit)  # not from this greenlet: quit() kills it
            gevent.sleep(0.05)
            return
        index, phase = found
        name = phase["page"]
        if name == "realistic mix":
            pages = PLAN["pages"]
            name = self.rng.choices([p["name"] for p in pages], weights=[p["weight"] for p in pages])[0]
        if name in state["skipped"]:
            gevent.sleep(0.05)
            return
        measuring = now - state["t0"] >= phase["measure_from"]
        self._request(index if measuring else None, name)
        if phase["page"] == "realistic mix":
            gevent.sleep(self.rng.uniform(*THINK))  # people read a page before the next click

    def _request(self, phase: int | None, name: str) -> None:
        headers = None
        if name == "bare page":
            session, url, spec, page_plan = self.sessions["anonymous"], BARE_URL, None, None
        else:
            page_plan = PAGE_BY_NAME[name]
            session, url = self.sessions[page_plan["role"]], page_plan["urls"][self.slot % USERS]
            spec = SPECS[name].form
            if page_plan.get("api"):
                owner = PLAN["slots"][self.slot % USERS][page_plan["role"]]
                session = self.sessions["api"]
                headers = {**API, "Authorization": f"Bearer {PLAN['tokens'][owner]}"}
        if spec is None:
            self._timed(phase, name, session, "GET", url, expect=(200,), headers=headers)
            return
        page = self._timed(phase, f"{name} (form page)", session, "GET", url, expect=(200,))
        if f"{name} (form page)" in state["skipped"]:
            state["skipped"][name] = state["skipped"][f"{name} (form page)"]
        if page is None or page.status_code != 200:
            return
        forms = [f for f in post_forms(page.text, self.host + url) if spec.pick(f)]
        if not forms:
            state["skipped"][name] = "no such form on the page"
            return
        ctx = page_plan["contexts"][self.slot % USERS]
        data = _encode(spec.fill(forms[0], ctx))
        self._timed(phase, name, session, "POST", forms[0].action, data=data, expect=spec.expect)

    def _timed(self, phase, name, session, method, url, *, expect, data=None, headers=None):
        started = time.perf_counter()
        try:
            resp = session.request(
                method,
                url,
                name=name,
                data=data,
                allow_redirects=False,
                headers={**(FORM if data else {}), **(headers or {})} or None,
            )
            status = resp.status_code
            body = resp.content  # read it all, as a browser would
        except Exception:  # a refused or timed-out connection counts as an error
            resp, status, body = None, 0, b""
        elapsed = time.perf_counter() - started
        if name not in state["first_try"]:
            state["first_try"][name] = status
            if status == 404:
                state["skipped"][name] = "404 on the first request"
        if phase is not None and name not in state["skipped"]:
            count = resp.headers.get("X-Query-Count") if resp is not None else None
            samples[(phase, name)].append((elapsed, status in expect, status, int(count) if count else None))
        del body
        return resp


FORM = {"Content-Type": "application/x-www-form-urlencoded"}
API = {"Accept": "application/json"}


def _encode(pairs: list[tuple[str, str]]) -> str:
    from urllib.parse import urlencode

    return urlencode(pairs)


def summarise() -> dict[str, Any]:
    rows = []
    for (index, name), values in sorted(samples.items()):
        phase = SCHEDULE[index]
        seconds = phase["end"] - phase["measure_from"]
        times = sorted(v[0] for v in values)
        counts = [v[3] for v in values if v[3] is not None]
        errors = [v[2] for v in values if not v[1]]
        rows.append(
            {
                "phase": index,
                "mixed": phase["page"] == "realistic mix",
                "page": name,
                "requests": len(values),
                "rps": len(values) / seconds,
                "median_ms": 1000 * statistics.median(times),
                "p95_ms": 1000 * times[min(len(times) - 1, int(0.95 * len(times)))],
                "queries": statistics.median(counts) if counts else None,
                "queries_max": max(counts) if counts else None,
                "errors": len(errors),
                "error_statuses": sorted(set(errors)),
            }
        )
    return {
        "users": USERS,
        "warmup_s": WARMUP,
        "measure_s": MEASURE,
        "mixed_s": MIXED,
        "think_s": list(THINK),
        "rows": rows,
        "skipped": state["skipped"],
        "login_failures": state["login_failures"],
    }


@events.quitting.add_listener
def write_results(environment, **kwargs) -> None:
    with open(RESULTS, "w", encoding="utf-8") as fh:
        json.dump(summarise(), fh, indent=1)

"""The load driver of `make bench` (run by bench/run.py; not meant to be started by hand).

Every simulated user signs in once per role (through the real login form, CSRF token taken from
the page), then all of them follow one schedule: each page in turn for a fixed time, every one of
them requesting that page as fast as the server answers (a closed loop, no think time: the
capacity of the server for that page), with the bare page measured the same way between them;
then a realistic mix of all pages, each user pausing 1–3 s between clicks (the latency people
see). The figures of the warm-up at the start of each phase are dropped, and a phase is measured
only once no request of an earlier phase is still waiting for its answer: a slow page leaves up
to fifty requests queued at the server, which would otherwise be counted against the next one.

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
DRAIN_TIMEOUT = float(os.environ.get("BENCH_DRAIN_TIMEOUT_SECONDS", "60"))  # see _conduct
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
    for phase in phases:
        phase["seconds"] = MEASURE
    if MIXED > 0:
        phases.append({"page": "realistic mix", "seconds": MIXED})
    return phases


SCHEDULE = _schedule()
PAGE_BY_NAME = {page["name"]: page for page in PLAN["pages"]}

# One process, so plain module state is shared by all simulated users (gevent, no threads).
state: dict[str, Any] = {
    "ready": 0,
    "conductor": None,
    "phase": None,  # index in SCHEDULE of the phase being run (set by _conduct)
    "measuring": False,  # whether requests started now are measured
    "done": False,
    "slot": 0,
    "first_try": {},
    "skipped": {},
    "login_failures": 0,
}
# (phase index, page name) -> list of (seconds, as expected, status, query count)
samples: dict[tuple[int, str], list[tuple[float, bool, int, int | None]]] = defaultdict(list)
# phase index -> requests of that phase sent and not yet answered
in_flight: dict[int, int] = defaultdict(int)


def _conduct() -> None:
    """Run the phases in turn: warm-up, then wait until every request of the earlier phases has
    been answered (at most DRAIN_TIMEOUT seconds), then measure for the phase's seconds."""
    for index, phase in enumerate(SCHEDULE):
        state["phase"], state["measuring"] = index, False
        gevent.sleep(WARMUP)
        started = time.perf_counter()
        while any(in_flight[i] for i in range(index)) and time.perf_counter() - started < DRAIN_TIMEOUT:
            gevent.sleep(0.05)
        phase["drain_s"] = time.perf_counter() - started
        phase["drained"] = not any(in_flight[i] for i in range(index))
        started = time.perf_counter()
        state["measuring"] = True
        gevent.sleep(phase["seconds"])
        phase["measured_s"] = time.perf_counter() - started
    state["done"] = True


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
        if state["conductor"] is None:
            state["conductor"] = gevent.spawn_later(0.5, _conduct)

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
        while state["phase"] is None:
            gevent.sleep(0.01)
        if state["done"]:
            gevent.spawn(self.environment.runner.quit)  # not from this greenlet: quit() kills it
            gevent.sleep(0.05)
            return
        index, measuring = state["phase"], state["measuring"]
        phase = SCHEDULE[index]
        name = phase["page"]
        if name == "realistic mix":
            pages = PLAN["pages"]
            name = self.rng.choices([p["name"] for p in pages], weights=[p["weight"] for p in pages])[0]
        if name in state["skipped"]:
            gevent.sleep(0.05)
            return
        in_flight[index] += 1
        try:
            self._request(index if measuring else None, name)
        finally:
            in_flight[index] -= 1
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
        seconds = phase.get("measured_s") or phase["seconds"]
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
        # Phases that waited for the requests of earlier ones before measuring (seconds waited,
        # and whether they were all answered within DRAIN_TIMEOUT).
        "waits": [
            {"phase": i, "page": p["page"], "seconds": round(p["drain_s"], 1), "drained": p["drained"]}
            for i, p in enumerate(SCHEDULE)
            if p.get("drain_s", 0) >= 1 or not p.get("drained", True)
        ],
        "skipped": state["skipped"],
        "login_failures": state["login_failures"],
    }


@events.quitting.add_listener
def write_results(environment, **kwargs) -> None:
    with open(RESULTS, "w", encoding="utf-8") as fh:
        json.dump(summarise(), fh, indent=1)

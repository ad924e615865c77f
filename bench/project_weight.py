"""First-visit weight and CPU of every tab of the longest project, for a specialist and a reporter.

The longest project of a loaded portfolio is the one with the most reporting periods times
indicators (where the project page is heaviest). For each tab the signed-in person may open, prints
the bytes of the HTML, of the stylesheets, scripts and images it links (counted as
tests/test_perf_static.py counts them: a first visit, uncompressed) and the CPU time of the process
per request, in-process as bench/profile_pages.py measures it.

    .venv/bin/python bench/project_weight.py --database-url sqlite:///pp_s02.db
    .venv/bin/python bench/project_weight.py --database-url … --tabs overview --profile p.prof --top 40
"""

from __future__ import annotations

import argparse
import cProfile
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.profile_pages import make_app, report_profile, sign_in  # noqa: E402

ASSET_RE = re.compile(r'<(?:link[^>]+rel="stylesheet"[^>]+href|script[^>]+src|img[^>]+src)="([^"]+)"')
TABS = {
    "overview": ("projects.detail", {}),
    "framework": ("projects.framework", {}),
    "outcomes": ("projects.outcomes_list", {}),
    "stories": ("projects.stories_list", {}),
    "rounds": ("projects.project_rounds", {}),
    "periods": ("projects.periods", {}),
    "partners": ("projects.partners", {}),
    "history": ("audit.entity_history", {"entity_type": "project"}),
}


def longest_project(app) -> tuple[int, str, int, int, dict[str, str]]:
    import sqlalchemy as sa

    from mel_app.extensions import db
    from mel_app.models import Indicator, Membership, Project, ReportingPeriod, Result, Role, User

    with app.app_context():
        periods = sa.select(sa.func.count()).where(ReportingPeriod.project_id == Project.id).scalar_subquery()
        indicators = (
            sa.select(sa.func.count())
            .select_from(Indicator)
            .join(Result, Result.id == Indicator.result_id)
            .where(Result.project_id == Project.id)
            .scalar_subquery()
        )
        project_id, reference, n_periods, n_indicators = db.session.execute(
            sa.select(Project.id, Project.reference, periods, indicators)
            .order_by((periods * indicators).desc(), Project.id)
            .limit(1)
        ).one()
        people = {}
        for role in (Role.specialist, Role.reporter):
            people[role.value] = db.session.scalar(
                sa.select(User.email)
                .join(Membership, Membership.user_id == User.id)
                .where(Membership.project_id == project_id, Membership.role == role, User.is_active)
                .order_by(User.id)
                .limit(1)
            )
    return project_id, reference, n_periods, n_indicators, people


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a loaded portfolio (flask seed-load)")
    parser.add_argument("--requests", type=int, default=20, help="measured requests per tab")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--tabs", default="", help="comma-separated tab names (default: all)")
    parser.add_argument("--roles", default="specialist,reporter")
    parser.add_argument("--profile", help="write a cProfile of the measured requests to this file")
    parser.add_argument("--top", type=int, default=0, help="print the N costliest functions (cumulative)")
    args = parser.parse_args()

    from flask import url_for

    app = make_app(args.database_url)
    project_id, reference, n_periods, n_indicators, people = longest_project(app)
    print(f"project {project_id} {reference}: {n_periods} periods, {n_indicators} indicators")
    chosen = [t for t in args.tabs.split(",") if t] or list(TABS)
    profiler = cProfile.Profile() if args.profile or args.top else None
    heading = ("status", 6), ("HTML KB", 8), ("assets KB", 9), ("total KB", 8), ("CPU ms", 7)
    print(f"{'tab (signed in as)':<28}", *(f"{name:>{width}}" for name, width in heading))
    for role in args.roles.split(","):
        client = sign_in(app, people[role])
        for tab in chosen:
            endpoint, extra = TABS[tab]
            with app.test_request_context():
                key = "entity_id" if endpoint == "audit.entity_history" else "project_id"
                url = url_for(endpoint, **{key: project_id}, **extra)
            answer = client.get(url)
            if answer.status_code != 200:
                print(f"{tab + ' (' + role + ')':<28} {answer.status_code:>6}")
                continue
            html = answer.get_data(as_text=True)
            assets = 0
            for asset_url in dict.fromkeys(ASSET_RE.findall(html)):
                with client.get(asset_url.replace("&amp;", "&")) as asset:
                    assets += len(asset.data)
            for _ in range(args.warmup):
                client.get(url)
            if profiler:
                profiler.enable()
            started = time.process_time()
            for _ in range(args.requests):
                client.get(url)
            spent = (time.process_time() - started) / args.requests * 1000
            if profiler:
                profiler.disable()
            size = len(answer.data)
            print(
                f"{tab + ' (' + role + ')':<28} {answer.status_code:>6} {size / 1024:>8.1f} "
                f"{assets / 1024:>9.1f} {(size + assets) / 1024:>8.1f} {spent:>7.1f}",
                flush=True,
            )
    report_profile(profiler, args.profile, args.top)


if __name__ == "__main__":
    main()

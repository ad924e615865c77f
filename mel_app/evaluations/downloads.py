"""An evaluation's results as a CSV file: the consolidated table (the same columns and values as the
downloads page's score_summary.csv) or, for those who may read them, the individual scores."""

from __future__ import annotations

import csv
import io

from mel_app import audit
from mel_app.evaluations import services
from mel_app.exports.tables import TABLES_BY_NAME, summary_rows
from mel_app.exports.writers import csv_cells
from mel_app.extensions import db
from mel_app.kit.cells import csv_safe
from mel_app.models import Evaluation, User


def results_csv(evaluation: Evaluation, *, individual: bool, actor: User) -> str:
    """The file's text (with a byte-order mark, for spreadsheet programs); the download is
    audited (the caller commits). The caller has checked that `actor` may read what is asked."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if individual:
        results = services.consolidated_results(evaluation, with_individuals=True)
        codes = {c.id: c for c in results.criteria}
        writer.writerow(
            ["criterion_code", "criterion", "scorer", "group", "point", "cannot_assess", "justification"]
        )
        for row in results.individuals or []:
            crit = codes[row.criterion_id]
            writer.writerow(
                [
                    csv_safe(crit.code),
                    csv_safe(crit.name),
                    csv_safe(row.scorer_name),
                    row.group.value,
                    "" if row.point is None else row.point,
                    "yes" if row.cannot_assess else "no",
                    csv_safe(row.justification),
                ]
            )
    else:
        # The downloads page's score_summary.csv, for this one evaluation: same columns, same values.
        table = TABLES_BY_NAME["score_summary"]
        source = [
            (eid, ref, csv_safe(title), status, cid, csv_safe(code), csv_safe(name), group, point)
            for eid, ref, title, status, cid, code, name, group, point in services.summary_source_rows(
                evaluation
            )
        ]
        writer.writerow([column.key for column in table.columns])
        if source:
            writer.writerows(csv_cells(table, summary_rows(source)))
    audit.record(
        db.session,
        "evaluation.download",
        actor=actor,
        target=evaluation,
        after={"format": "csv", "content": "individual scores" if individual else "summary"},
    )
    return "\ufeff" + buffer.getvalue()

"""Numbers as people type them in English, French and Spanish: on the report form, in the results
framework editor and in the spreadsheet import. Nothing is ever stored as a different number than
the one the user meant: a string that could mean two numbers is refused with both ways to type it."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import Indicator, IndicatorValue, OrgGroup, ResultType, Role, Status, User
from mel_app.numbers import NumberError, format_number, parse_number
from tests.conftest import csrf_token
from tests.submissions_world import add_submission, build_world, post, report_payload, signed_in, state

NNBSP, NBSP = "\u202f", "\u00a0"

# (language, typed, stored); None for a refusal.
READINGS = [
    ("en", "16,000", Decimal("16000")),
    ("en", "16 000", Decimal("16000")),
    ("en", "16.000", None),  # 16 here, sixteen thousand in French or Spanish
    ("en", "12,5", None),
    ("en", "12.5", Decimal("12.5")),
    ("en", "1,234.5", Decimal("1234.5")),
    ("en", "1.234,5", None),
    ("en", "1,234", Decimal("1234")),
    ("en", "1.234", None),
    ("en", "0.500", Decimal("0.5")),
    ("en", "0,500", None),
    ("en", "-1,234.5", Decimal("-1234.5")),
    ("en", "12,34,567", None),
    ("fr", "16,000", None),  # 16 here, sixteen thousand in English
    ("fr", "16 000", Decimal("16000")),
    ("fr", f"16{NNBSP}000", Decimal("16000")),
    ("fr", f"16{NBSP}000", Decimal("16000")),
    ("fr", "16.000", Decimal("16000")),
    ("fr", "12,5", Decimal("12.5")),
    ("fr", "12.5", None),
    ("fr", "1,234.5", None),
    ("fr", "1.234,5", Decimal("1234.5")),
    ("fr", "1 234,5", Decimal("1234.5")),
    ("fr", "1,234", None),
    ("fr", "1,2340", Decimal("1.234")),
    ("fr", "0,500", Decimal("0.5")),
    ("fr", "−1 234,5", Decimal("-1234.5")),  # the typographic minus sign
    ("es", "16,000", None),
    ("es", "16 000", Decimal("16000")),
    ("es", "16.000", Decimal("16000")),
    ("es", "12,5", Decimal("12.5")),
    ("es", "12.5", None),
    ("es", "1,234.5", None),
    ("es", "1.234,5", Decimal("1234.5")),
    ("es", "1234,5", Decimal("1234.5")),
    ("es", "1.234.567,25", Decimal("1234567.25")),
    ("es", "1.2345", None),
]


@pytest.mark.parametrize(("lang", "typed", "stored"), READINGS)
def test_numbers_are_read_the_way_each_language_writes_them(app, lang, typed, stored):
    with app.test_request_context():
        if stored is None:
            with pytest.raises(NumberError):
                parse_number(typed, lang)
        else:
            assert parse_number(typed, lang) == stored


@pytest.mark.parametrize("lang", ["en", "fr", "es"])
@pytest.mark.parametrize(
    "value", ["16000", "1.234", "0.123", "12.5", "1234.5", "-0.5", "99999999999999.9999", "100", "0"]
)
def test_a_number_written_back_reads_as_the_same_number(app, lang, value):
    with app.test_request_context():
        for grouped in (True, False):
            text = format_number(Decimal(value), lang, grouped=grouped)
            assert parse_number(text, lang) == Decimal(value), text


def test_a_string_that_means_two_numbers_says_how_to_type_each(app):
    with app.test_request_context():
        with pytest.raises(NumberError) as fr:
            parse_number("16,000", "fr")
        with pytest.raises(NumberError) as en:
            parse_number("1.234", "en")
        with pytest.raises(NumberError) as other:
            parse_number("12,5", "en")
    assert (
        str(fr.value)
        == f"“16,000” could mean 16{NNBSP}000 or 16: type 16{NNBSP}000 or 16, whichever you mean."
    )
    assert "1,234 or 1.2340" in str(en.value)
    assert str(other.value) == "Enter a number, like 12,345.5 or 12.5."


# --- the report form -----------------------------------------------------------------------------


def _speak(app, user_id: int, lang: str) -> None:
    with app.app_context():
        db.session.execute(sa.update(User).where(User.id == user_id).values(preferred_language=lang))
        db.session.commit()


@pytest.fixture
def report(app, make, login):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft, complete=False)

    def open_as(lang: str):
        _speak(app, world.users["author"], lang)
        return signed_in(app, login, world, "author")

    return world, sub_id, open_as


def _save(client, world, sub_id, values: dict[tuple[str, str], str]):
    ids = world.indicators
    fields = {f"ind_{ids[code]}-{name}": text for (code, name), text in values.items()}
    payload = report_payload(world, state(client.application, sub_id)[1], **fields)
    return post(client, f"/submissions/{sub_id}/save", payload)


def _stored(app, sub_id, code):
    with app.app_context():
        row = db.session.scalar(
            sa.select(IndicatorValue)
            .join(Indicator)
            .where(IndicatorValue.submission_id == sub_id, Indicator.code == code)
        )
        return None if row is None else (row.value, row.women, row.men)


def _input_value(page: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', page)
    assert match, name
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else ""


def _error(page: str, field_id: str) -> str:
    match = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">(.*?)</p>', page, re.S)
    return match.group(1) if match else ""


TYPED_IN_REPORTS = [
    # language, total, women, men -> what is stored (total, women, men)
    ("en", "16,000", "8,800", "7,200", ("16000", "8800", "7200")),
    ("en", "1,234.5", "1,234", "0.5", ("1234.5", "1234", "0.5")),
    ("fr", "16 000", f"8{NNBSP}800", "7.200", ("16000", "8800", "7200")),
    ("fr", "1.234,5", "1 234", "0,5", ("1234.5", "1234", "0.5")),
    ("es", "16.000", "8.800", "7 200", ("16000", "8800", "7200")),
    ("es", "12,5", "12", "0,5", ("12.5", "12", "0.5")),
]


@pytest.mark.parametrize(("lang", "total", "women", "men", "stored"), TYPED_IN_REPORTS)
def test_the_report_form_stores_the_number_the_user_meant(app, report, lang, total, women, men, stored):
    world, sub_id, open_as = report
    client = open_as(lang)
    resp = _save(
        client, world, sub_id, {("1.a", "value"): total, ("1.a", "women"): women, ("1.a", "men"): men}
    )
    assert resp.status_code == 302, _error(
        resp.get_data(as_text=True), f"ind_{world.indicators['1.a']}-value"
    )
    assert _stored(app, sub_id, "1.a") == tuple(Decimal(s) for s in stored)


def test_the_form_shows_back_what_is_stored_the_users_way(app, report):
    world, sub_id, open_as = report
    client = open_as("fr")
    ind = world.indicators["1.a"]
    resp = _save(
        client,
        world,
        sub_id,
        {("1.a", "value"): "16.000", ("1.a", "women"): "8800,0", ("1.a", "men"): "7 200"},
    )
    assert resp.status_code == 302
    page = client.get(f"/submissions/{sub_id}").get_data(as_text=True)
    assert _input_value(page, f"ind_{ind}-value") == f"16{NNBSP}000"
    assert _input_value(page, f"ind_{ind}-women") == f"8{NNBSP}800"

    # Sent back for another field's mistake, a good number is shown as it will be stored.
    resp = _save(client, world, sub_id, {("1.a", "value"): "16.000", ("1.b", "value"): "101"})
    assert resp.status_code == 422
    assert _input_value(resp.get_data(as_text=True), f"ind_{ind}-value") == f"16{NNBSP}000"


@pytest.mark.parametrize(
    ("lang", "typed", "message"),
    [
        ("en", "16.000", "“16.000” could mean 16,000 or 16: type 16,000 or 16, whichever you mean."),
        ("en", "12,5", "Enter a number, like 12,345.5 or 12.5."),
        ("fr", "16,000", "«\u00a016,000\u00a0» peut vouloir dire"),
        ("fr", "1,234.5", "Saisissez un nombre, par exemple"),
        ("es", "1,234", "«1,234» puede significar"),
        ("es", "12.5", "Escriba un número, por ejemplo"),
    ],
)
def test_a_number_that_cannot_be_read_one_way_is_refused_and_kept_as_typed(app, report, lang, typed, message):
    world, sub_id, open_as = report
    client = open_as(lang)
    ind = world.indicators["1.a"]
    resp = _save(client, world, sub_id, {("1.a", "value"): typed, ("1.a", "women"): "", ("1.a", "men"): ""})
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert message in _error(page, f"ind_{ind}-value")
    assert _input_value(page, f"ind_{ind}-value") == typed, "what the user typed stays in the form"
    assert _stored(app, sub_id, "1.a") is None, "nothing saved"


def test_women_and_men_are_checked_against_the_total_as_the_numbers_they_are(app, report):
    world, sub_id, open_as = report
    client = open_as("en")
    ind = world.indicators["1.a"]
    # 8,800 + 7,200 is 16,000, not 16: the check sees thousands, not 8.8 and 7.2.
    resp = _save(
        client, world, sub_id, {("1.a", "value"): "16", ("1.a", "women"): "8,800", ("1.a", "men"): "7,200"}
    )
    assert resp.status_code == 422
    assert _error(resp.get_data(as_text=True), f"ind_{ind}-value") == (
        "Women (8,800) and men (7,200) add up to 16,000, not 16."
    )
    assert _stored(app, sub_id, "1.a") is None
    # An empty total is their sum.
    resp = _save(
        client, world, sub_id, {("1.a", "value"): "", ("1.a", "women"): "8,800", ("1.a", "men"): "7,200"}
    )
    assert resp.status_code == 302
    assert _stored(app, sub_id, "1.a") == (Decimal(16000), Decimal(8800), Decimal(7200))


# --- the results framework: editor and spreadsheet import -----------------------------------------


@pytest.fixture
def framework(app, make):
    union = make.organisation("Union", OrgGroup.workers)
    project = make.project("RAF/22/11/NOR")
    spec = make.user("spec@example.org")
    make.member(spec, project, Role.specialist)
    make.partner(project, union)
    outcome = make.result(project, "1", type=ResultType.outcome)
    return {"project": project, "spec": spec, "outcome": outcome}


def _indicator_form(**changes):
    data = {"code": "1.z", "title": "Members", "measure": "number", "unit": "members", "ascending": "y"}
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("lang", "baseline", "target", "stored"),
    [
        ("en", "16,000", "1,234.5", (Decimal(16000), Decimal("1234.5"))),
        ("fr", "16 000", "1.234,5", (Decimal(16000), Decimal("1234.5"))),
        ("es", "16.000", "12,5", (Decimal(16000), Decimal("12.5"))),
    ],
)
def test_baseline_and_target_are_read_the_users_way(
    app, client, login, post, framework, lang, baseline, target, stored
):
    _speak(app, framework["spec"], lang)
    login("spec@example.org")
    url = f"/projects/{framework['project']}/framework/results/{framework['outcome']}/indicators/new"
    resp = post(url, _indicator_form(baseline_value=baseline, target_value=target))
    assert resp.status_code == 302
    with app.app_context():
        ind = db.session.scalar(sa.select(Indicator).where(Indicator.code == "1.z"))
        assert (ind.baseline_value, ind.target_value) == stored
        ind_id = ind.id
    page = client.get(f"/projects/{framework['project']}/framework/indicators/{ind_id}/edit").get_data(
        as_text=True
    )
    with app.test_request_context():
        shown = format_number(stored[0], lang)
    assert _input_value(page, "baseline_value") == shown, (
        "the edit form shows the stored number the user's way"
    )


def test_an_ambiguous_baseline_is_refused_with_the_input_kept(app, client, login, post, framework):
    _speak(app, framework["spec"], "fr")
    login("spec@example.org")
    url = f"/projects/{framework['project']}/framework/results/{framework['outcome']}/indicators/new"
    resp = post(url, _indicator_form(baseline_value="1,234", target_value="2 000"))
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "«\u00a01,234\u00a0» peut vouloir dire 1\u202f234 ou 1,2340" in page
    assert _input_value(page, "baseline_value") == "1,234"
    assert _input_value(page, "target_value") == f"2{NNBSP}000", "shown back as it will be stored"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Indicator)) == 0


HEADER = ["level", "code", "parent", "title", "measure", "baseline_value", "target_value"]


def _csv(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _upload(client, project: int, data: bytes):
    return client.post(
        f"/projects/{project}/framework/import",
        data={"csrf_token": csrf_token(client), "file": (io.BytesIO(data), "cadre.csv")},
        content_type="multipart/form-data",
    )


def _confirm(client, post, preview_url: str):
    page = client.get(preview_url).get_data(as_text=True)
    fingerprint = page.split('name="fingerprint" type="hidden" value="')[1].split('"')[0]
    return post(preview_url, {"fingerprint": fingerprint})


def _values_of(app) -> dict[str, tuple[Decimal | None, Decimal | None]]:
    with app.app_context():
        return {i.code: (i.baseline_value, i.target_value) for i in db.session.scalars(sa.select(Indicator))}


@pytest.mark.parametrize(
    ("lang", "cells", "stored"),
    [
        ("en", ("16,000", "1,234.5"), (Decimal(16000), Decimal("1234.5"))),
        ("fr", ("16 000", "16.500,5"), (Decimal(16000), Decimal("16500.5"))),
        ("es", ("16.000", "12,5"), (Decimal(16000), Decimal("12.5"))),
    ],
)
def test_the_spreadsheet_import_reads_text_cells_the_users_way(
    app, client, login, post, framework, lang, cells, stored
):
    _speak(app, framework["spec"], lang)
    login("spec@example.org")
    resp = _upload(
        client, framework["project"], _csv([["indicator", "1.a", "1", "Members", "number", *cells]])
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert _confirm(client, post, resp.location).status_code == 302
    assert _values_of(app) == {"1.a": stored}


def test_the_spreadsheet_import_refuses_an_ambiguous_text_cell(app, client, login, post, framework):
    _speak(app, framework["spec"], "fr")
    login("spec@example.org")
    resp = _upload(
        client,
        framework["project"],
        _csv([["indicator", "1.a", "1", "Membres", "number", "16,000", "20 000"]]),
    )
    assert resp.status_code == 422
    assert f"«{NBSP}16,000{NBSP}» peut vouloir dire 16{NNBSP}000 ou 16" in resp.get_data(as_text=True)
    assert _values_of(app) == {}


@pytest.mark.parametrize("lang", ["en", "fr", "es"])
def test_a_framework_exported_as_csv_imports_back_unchanged_in_every_language(
    app, client, login, framework, make, lang
):
    make.indicator(framework["outcome"], "1.a", baseline_value="1.234", target_value="16000.5")
    _speak(app, framework["spec"], lang)
    login("spec@example.org")
    exported = client.get(f"/projects/{framework['project']}/framework/export.csv").data
    resp = _upload(client, framework["project"], exported)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    page = client.get(resp.location).get_data(as_text=True)
    assert re.search(r"0 \w+, 0 \w+, 2 \w+", page), "0 new, 0 changed, 2 unchanged"


def test_numbers_for_reading_are_written_as_babel_writes_them_in_every_language():
    """`reading` replaces Babel's formatting on the pages (for speed): the same text, for whole
    numbers, decimals rounded to four places (half to even, as Babel), negatives and zero."""
    import random

    from babel.numbers import format_decimal

    from mel_app.numbers import READING_PATTERN, reading

    rng = random.Random(7)
    values = [Decimal(v) for v in ("0", "-0", "1", "-1", "999", "1000", "-1000", "12345.5", "0.00005")]
    values += [Decimal(v) for v in ("0.00015", "0.00025", "1234567.8901", "99999999999999.9999", "1E+3")]
    for _ in range(3000):
        digits = rng.randint(0, 14)
        places = rng.randint(0, 6)
        number = Decimal(rng.randint(0, 10**digits)).scaleb(-places)
        values.append(-number if rng.random() < 0.3 else number)
    for lang in ("en", "fr", "es", "pt"):
        for value in values:
            assert reading(value, lang) == format_decimal(value, READING_PATTERN, locale=lang), (lang, value)

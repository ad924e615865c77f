"""Portuguese, for the unions and employers of Mozambique, Angola, Cabo Verde, Guinea-Bissau and
São Tomé: chosen by the browser or on the profile, in the pages, the numbers people type, the dates
and the emails. That every message has its translation is tests/test_translations.py's job."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from babel.messages.pofile import read_po
from flask_babel import force_locale, ngettext
from markupsafe import escape

from mel_app.extensions import db
from mel_app.models import Indicator, IndicatorValue, Status, User
from mel_app.numbers import NumberError, format_number, parse_number
from tests.smtp_server import body, mail_server_fixture  # noqa: F401 - the mail_server fixture
from tests.submissions_world import add_submission, build_world, report_payload, signed_in, state
from tests.submissions_world import post as post_as

CATALOGUE = Path(__file__).resolve().parent.parent / "mel_app/translations/pt/LC_MESSAGES/messages.po"
NNBSP = "\u202f"


# --- which language ------------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["pt", "pt-MZ", "pt-AO,pt;q=0.9,en;q=0.8", "pt-PT,en;q=0.5", "pt_CV"])
def test_a_browser_asking_for_portuguese_gets_the_sign_in_page_in_portuguese(client, header):
    page = client.get("/login", headers={"Accept-Language": header}).get_data(as_text=True)
    assert '<html lang="pt">' in page
    assert "Iniciar sessão" in page and "Palavra-passe" in page


@pytest.mark.parametrize(
    ("header", "lang"),
    [("en-GB,pt;q=0.3", "en"), ("fr-SN,pt;q=0.5", "fr"), ("de,pt;q=0.8", "pt"), ("de,pt;q=0", "en")],
)
def test_the_browsers_order_of_preference_decides(client, header, lang):
    page = client.get("/login", headers={"Accept-Language": header}).get_data(as_text=True)
    assert f'<html lang="{lang}">' in page


def test_a_user_who_chooses_portuguese_gets_the_pages_in_portuguese(app, client, make, login, post):
    user = make.user("rep@example.org", full_name="Amélia Cossa")
    login("rep@example.org")
    page = client.get("/account").get_data(as_text=True)
    assert re.search(r'<option value="pt">Português</option>', page), "offered on the profile"
    resp = post("/account", {"full_name": "Amélia Cossa", "preferred_language": "pt"})
    assert resp.status_code == 302
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="pt">' in page
    assert "As minhas tarefas" in page and "Terminar sessão" in page
    with app.app_context():
        assert db.session.get(User, user).preferred_language == "pt"


def test_an_administrator_can_invite_someone_in_portuguese(client, make, login):
    make.user("admin@example.org", is_admin=True)
    login("admin@example.org")
    page = client.get("/admin/users/invite").get_data(as_text=True)
    assert '<option value="pt">Português</option>' in page


def test_an_invitation_in_portuguese_is_written_in_portuguese(client, make, login, post, mail_server):
    make.user("admin@example.org", is_admin=True, full_name="Amina Admin")
    login("admin@example.org")
    resp = post(
        "/admin/users/invite",
        {"email": "joao@example.org", "full_name": "João Tembe", "preferred_language": "pt"},
    )
    assert resp.status_code == 302
    (message,) = mail_server.wait_for("joao@example.org")
    assert message["Subject"] == "Convite para o ACTRAV MAA"
    text = body(message)
    assert "Olá, João Tembe," in text
    assert "Amina Admin convida-o para o ACTRAV MAA" in text
    assert "Para aceitar, abra esta ligação e escolha a sua palavra-passe:" in text
    assert "expira dentro de 72 horas" in text


@pytest.mark.parametrize(
    ("n", "text"), [(0, "0 dias"), (1, "1 dia"), (2, "2 dias"), (1_000_000, "1000000 dias")]
)
def test_plurals_follow_european_portuguese(app, n, text):
    """Zero takes the plural in Portugal and Lusophone Africa ("0 dias"), unlike Brazil."""
    with app.test_request_context(), force_locale("pt"):
        assert ngettext("%(num)d day", "%(num)d days", n) == text


# --- numbers and dates ---------------------------------------------------------------------------

READINGS = [
    ("12,5", Decimal("12.5")),
    ("16 000", Decimal("16000")),
    (f"16{NNBSP}000", Decimal("16000")),
    ("16.000", Decimal("16000")),
    ("1.234,5", Decimal("1234.5")),
    ("1 234 567,25", Decimal("1234567.25")),
    ("0,5", Decimal("0.5")),
    ("16,000", None),  # sixteen here, sixteen thousand in English: refused, never guessed
    ("12.5", None),
    ("1,234.5", None),
]


@pytest.mark.parametrize(("typed", "stored"), READINGS)
def test_numbers_are_read_the_portuguese_way(app, typed, stored):
    with app.test_request_context():
        if stored is None:
            with pytest.raises(NumberError):
                parse_number(typed, "pt")
        else:
            assert parse_number(typed, "pt") == stored


@pytest.mark.parametrize("value", ["16000", "1.234", "12.5", "1234567.25", "-0.5", "0"])
def test_a_number_written_in_portuguese_reads_back_as_the_same_number(app, value):
    with app.test_request_context():
        for grouped in (True, False):
            text = format_number(Decimal(value), "pt", grouped=grouped)
            assert parse_number(text, "pt") == Decimal(value), text


@pytest.fixture
def world(app, make):
    world = build_world(make)
    with app.app_context():
        for key in ("author", "specialist"):
            db.session.get(User, world.users[key]).preferred_language = "pt"
        db.session.commit()
    return world


def _save(app, client, world, sub_id, **values):
    ind = world.indicators["1.a"]
    fields = {f"ind_{ind}-{name}": text for name, text in values.items()}
    payload = report_payload(world, state(app, sub_id)[1], **fields)
    return post_as(client, f"/submissions/{sub_id}/save", payload)


def _stored(app, sub_id):
    with app.app_context():
        row = db.session.scalar(
            sa.select(IndicatorValue)
            .join(Indicator)
            .where(IndicatorValue.submission_id == sub_id, Indicator.code == "1.a")
        )
        return None if row is None else (row.value, row.women, row.men)


def _input_value(page: str, name: str) -> str:
    tag = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', page).group(0)
    value = re.search(r'value="([^"]*)"', tag)
    return value.group(1) if value else ""


@pytest.mark.parametrize(
    ("total", "women", "men", "stored", "shown"),
    [
        ("16.000", "8 800", "7.200", ("16000", "8800", "7200"), "16.000"),
        ("12,5", "12", "0,5", ("12.5", "12", "0.5"), "12,5"),
    ],
)
def test_the_report_form_stores_the_number_a_portuguese_speaker_meant(
    app, login, world, total, women, men, stored, shown
):
    sub_id = add_submission(app, world, Status.draft, complete=False)
    client = signed_in(app, login, world, "author")
    resp = _save(app, client, world, sub_id, value=total, women=women, men=men)
    assert resp.status_code == 302
    assert _stored(app, sub_id) == tuple(Decimal(s) for s in stored)
    page = client.get(f"/submissions/{sub_id}").get_data(as_text=True)
    assert _input_value(page, f"ind_{world.indicators['1.a']}-value") == shown


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("16,000", "«16,000» pode significar 16.000 ou 16: escreva 16.000 ou 16, conforme o que pretende."),
        ("12.5", "Introduza um número, por exemplo 12.345,5 ou 12,5."),
    ],
)
def test_a_number_that_cannot_be_read_one_way_is_refused_in_portuguese(app, login, world, typed, message):
    sub_id = add_submission(app, world, Status.draft, complete=False)
    client = signed_in(app, login, world, "author")
    resp = _save(app, client, world, sub_id, value=typed, women="", men="")
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert message in page
    assert _input_value(page, f"ind_{world.indicators['1.a']}-value") == typed, "kept as typed"
    assert _stored(app, sub_id) is None


def test_dates_are_written_in_portuguese(app, login, world):
    client = signed_in(app, login, world, "specialist")
    page = client.get("/projects").get_data(as_text=True)
    assert "1 de jan. de 2024" in page and "31 de dez. de 2030" in page


# --- no English left -----------------------------------------------------------------------------


def _english_sentences() -> list[str]:
    """Sentences of the catalogue that read differently in Portuguese, as a page would escape them."""
    with open(CATALOGUE, "rb") as fh:
        catalogue = read_po(fh)
    found = []
    for m in catalogue:
        english = m.id if isinstance(m.id, str) else m.id[0]
        portuguese = m.string if isinstance(m.string, str) else m.string[0]
        if len(english) >= 20 and "%" not in english and english != portuguese:
            found.append(str(escape(english)))
    return found


def test_pages_in_portuguese_show_no_english_sentence(app, login, world):
    sub_id = add_submission(app, world, Status.submitted)
    pages = [
        ("author", "/"),
        ("author", f"/submissions/{sub_id}"),
        ("author", "/account"),
        ("specialist", "/"),
        ("specialist", f"/projects/{world.project}"),
        ("specialist", f"/projects/{world.project}/framework"),
        ("specialist", f"/submissions/{sub_id}"),
    ]
    english = _english_sentences()
    assert len(english) > 500
    clients = {key: signed_in(app, login, world, key) for key in ("author", "specialist")}
    for who, url in pages:
        resp = clients[who].get(url)
        assert resp.status_code == 200, url
        page = resp.get_data(as_text=True)
        assert '<html lang="pt">' in page, url
        left = [sentence for sentence in english if sentence in page]
        assert not left, f"{url} shows English to a Portuguese speaker: {left[:3]}"

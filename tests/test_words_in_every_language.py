"""Words a French or Spanish speaker still met in English: e-mails, error summaries, chart labels."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask import render_template_string
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from mel_app.extensions import db
from mel_app.models import User
from tests.smtp_server import body, mail_server_fixture  # noqa: F401 - the mail_server fixture
from tests.test_projects_rules import progress

# Words and their language: the same whichever database held the rows.
pytestmark = pytest.mark.same_on_every_database


def test_an_invitation_to_a_french_user_is_written_in_french(app, client, make, login, post, mail_server):
    make.user("admin@example.org", is_admin=True, full_name="Amina Admin")
    login("admin@example.org")
    resp = post(
        "/admin/users/invite",
        {"email": "awa@example.org", "full_name": "Awa Ndiaye", "preferred_language": "fr"},
    )
    assert resp.status_code == 302
    (message,) = mail_server.wait_for("awa@example.org")
    text = body(message)
    assert message["Subject"] == "Invitation à rejoindre ACTRAV S&E"
    assert "Bonjour Awa Ndiaye," in text
    assert "Amina Admin vous invite" in text
    assert "72 heures" in text
    for english in ("Hello", "invites you", "To accept", "The link works once", "If you did not expect"):
        assert english not in text, english


def test_e_mails_are_rendered_in_the_recipients_language_and_time_zone(app, make):
    """The helper other e-mails use: the recipient's words and zone, whoever sends it."""
    from mel_app import emails

    user = make.user("kamau@example.org", preferred_language="es", time_zone="Africa/Nairobi")
    moment = datetime(2026, 12, 2, 11, 5, tzinfo=UTC)
    with app.test_request_context():
        recipient = db.session.get(User, user)
        with emails.recipient(recipient):
            text = render_template_string(
                "{{ _('Hello %(name)s,', name='Kamau') }} {{ when|datetime }}", when=moment
            )
        assert text == "Hola, Kamau: 2 dic 2026, 14:05 (UTC+3)"
        message = emails.render_for(
            recipient,
            _l("Choose a new password for ACTRAV MEL"),
            "email/password_reset.txt",
            link="https://mel.example.org/x",
            minutes=30,
        )
        assert message.to == "kamau@example.org"
        assert message.subject == "Elija una nueva contraseña para ACTRAV MEL"
        assert "Hola," in message.body and "30 minutos" in message.body
        # Outside the block, the request's own language and zone again.
        assert render_template_string("{{ when|datetime }}", when=moment) == "2 Dec 2026, 11:05 (UTC)"


def test_the_error_summary_speaks_french(app, client, make, login, post):
    make.user("fr@example.org", preferred_language="fr")
    login("fr@example.org")
    page = post(
        "/account", {"full_name": "", "preferred_language": "fr", "time_zone": "Mars/Olympus"}
    ).get_data(as_text=True)
    summary = re.search(r'class="error-summary".*?</div>', page, re.S).group(0)
    assert "There is a problem" not in summary and "Il y a un problème" in summary
    assert "This is not a time zone we know" not in page


def test_a_french_chart_label_wraps_instead_of_being_cut(app):
    from mel_app.projects.charts import progress_chart

    with app.test_request_context(), force_locale("fr"):
        chart = progress_chart(progress(baseline=0, target=100, reported=[(1, 1, 50)]))
        html = render_template_string(
            '{% from "projects/_chart.html" import progress_chart %}{{ progress_chart(chart, "c1", "t") }}',
            chart=chart,
        )
    assert chart.points[0].lines == ("Valeur de", "référence")
    assert "Valeur d…" not in html
    assert '>Valeur de</tspan><tspan x="60.0" dy="11">référence</tspan>' in html

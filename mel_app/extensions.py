"""Flask extensions, created unbound and bound to the app in create_app()."""

from __future__ import annotations

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from mel_app.integers import arg_int, to_int
from mel_app.models.base import Base


class _SQLAlchemy(SQLAlchemy):
    def paginate(self, select, *, page=None, per_page=None, **kwargs):  # type: ignore[no-untyped-def]
        """Flask-SQLAlchemy's paginate, with the page number bounded (`mel_app.integers`).

        Left to the library, `?page=9223372036854775808` would reach the database as an OFFSET it
        cannot hold; out of range or not a number, the page is the first one, as for any junk.
        """
        page = arg_int("page", 1, minimum=1) if page is None else to_int(page, 1, minimum=1)
        if per_page is None:
            per_page = arg_int("per_page", 20, minimum=1, maximum=100)
        return super().paginate(select, page=page, per_page=per_page, **kwargs)


db = _SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()

"""Every date and time a person reads, formatted in one place.

- English dates are written day month year, as the ILO writes them: "2 December 2026" (long),
  "2 Dec 2026" (short). Never 12/2/26, which reads as 12 February in Nairobi and 2 December in
  Washington. French, Spanish (and any other catalogue) keep their own CLDR conventions.
- Times use the 24-hour clock and always carry their time zone, written as an offset from UTC
  that nobody misreads: "14:05 (UTC+3)", "09:30 (UTC)".
- Times are shown in the reader's time zone (`User.time_zone`, an IANA name), else the
  configured default (BABEL_DEFAULT_TIMEZONE, UTC). E-mails use the recipient's zone:
  `for_zone()` here, or `mel_app.emails.render_for()` which also sets the language.
- `<time datetime="...">` gets `machine()`: whole seconds in UTC with a Z, a valid HTML value
  (`{{ when|machine_time }}`, with `{{ when|datetime }}` for its text).

Dates without a time (a due date, a period's start) are calendar days: never converted.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_time as babel_format_time
from babel.dates import get_datetime_format
from flask import current_app, g, has_app_context, has_request_context
from flask_babel import get_locale

# English patterns: day month year (the CLDR "en" ones are the United States').
ENGLISH_DATE = {"short": "d MMM y", "medium": "d MMM y", "long": "d MMMM y"}
TIME_PATTERN = "HH:mm"
DEFAULT_ZONE = "UTC"


# --- which zone -------------------------------------------------------------------------------


# The zones the account page offers: places, by continent or ocean. Other names the zone database
# knows (Etc/GMT+3, which means UTC-3; US/Eastern...) are accepted if typed, never suggested.
REGIONS = (
    "Africa/",
    "America/",
    "Antarctica/",
    "Arctic/",
    "Asia/",
    "Atlantic/",
    "Australia/",
    "Europe/",
    "Indian/",
    "Pacific/",
)


@cache
def zone_names() -> tuple[str, ...]:
    """Every IANA zone this server knows, sorted."""
    return tuple(sorted(n for n in available_timezones() if not n.startswith(("posix/", "right/"))))


@cache
def offered_zones() -> tuple[str, ...]:
    """The choices of the account page: places, and UTC."""
    return ("UTC", *(n for n in zone_names() if n.startswith(REGIONS)))


def valid_zone(name: str | None) -> str | None:
    """The zone's canonical spelling if `name` is an IANA zone this server knows, else None."""
    name = (name or "").strip()
    if not name or len(name) > 64:
        return None
    if name in _zone_set():
        return name
    # Accept a differently cased name ("africa/nairobi") but store the canonical one.
    return _by_lower_name().get(name.lower())


@cache
def _zone_set() -> frozenset[str]:
    return frozenset(zone_names())


@cache
def _by_lower_name() -> dict[str, str]:
    return {n.lower(): n for n in zone_names()}


def default_zone() -> str:
    if has_app_context():
        return valid_zone(current_app.config.get("BABEL_DEFAULT_TIMEZONE")) or DEFAULT_ZONE
    return DEFAULT_ZONE


def select_timezone() -> str:
    """Flask-Babel's time zone selector: the forced zone (an e-mail), the reader's, the default."""
    forced = _forced_zone()
    if forced:
        return forced
    if has_request_context():
        from flask_login import current_user

        # The user object once, rather than a look-up through the proxy for each attribute.
        user = current_user._get_current_object()
        if user and user.is_authenticated:
            chosen = valid_zone(getattr(user, "time_zone", None))
            if chosen:
                return chosen
    return default_zone()


def _forced_zone() -> str | None:
    if has_app_context():
        stack = g.get("_mel_zones")
        if stack:
            return stack[-1]
    return None


@contextmanager
def for_zone(name: str | None) -> Iterator[None]:
    """Format in another zone inside the block (an e-mail in its recipient's zone)."""
    stack = g.setdefault("_mel_zones", [])
    stack.append(valid_zone(name) or default_zone())
    _forget_babel_zone()
    try:
        yield
    finally:
        stack.pop()
        _forget_babel_zone()


def _forget_babel_zone() -> None:
    # Flask-Babel caches the selected zone for the request: let it ask again.
    babel_ctx = g.get("_flask_babel")
    if babel_ctx is not None and hasattr(babel_ctx, "babel_tzinfo"):
        del babel_ctx.babel_tzinfo


def current_zone() -> ZoneInfo:
    try:
        return ZoneInfo(select_timezone() if has_app_context() else DEFAULT_ZONE)
    except ZoneInfoNotFoundError:  # pragma: no cover - only with a broken tz database
        return ZoneInfo(DEFAULT_ZONE)


# --- formatting ---------------------------------------------------------------------------------


def _locale() -> Locale:
    locale = get_locale() if has_request_context() or has_app_context() else None
    return locale or Locale.parse("en")


def _aware(value: datetime) -> datetime:
    # Stored times are UTC (UTCDateTime); a naive one can only be UTC too.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def local(value: datetime, zone: ZoneInfo | None = None) -> datetime:
    return _aware(value).astimezone(zone or current_zone())


def offset_label(moment: datetime) -> str:
    """'UTC', 'UTC+3', 'UTC-4', 'UTC+5:30': the zone of an aware time, unambiguous in any language."""
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def format_date(value: date | datetime | None, style: str = "medium") -> str:
    """A calendar day: '2 Dec 2026' (short, medium), '2 December 2026' (long) in English."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        value = local(value).date()
    return _format_day(value, style, _locale())


def format_month(value: date | None) -> str:
    """A month of a year in the user's language: 'March 2026', 'mars 2026'."""
    if value is None:
        return ""
    return babel_format_date(value, "LLLL y", locale=_locale())


def _format_day(value: date, style: str, locale: Locale) -> str:
    return babel_format_date(value, _date_pattern(locale, style), locale=locale)


@cache
def _date_pattern(locale: Locale, style: str) -> str:
    """The CLDR pattern of a day in a language (English: day month year), read once per locale."""
    if locale.language == "en":
        return ENGLISH_DATE.get(style, ENGLISH_DATE["medium"])
    return str(locale.date_formats["long" if style == "long" else "medium"])


@cache
def _datetime_pattern(locale: Locale, style: str) -> str:
    """How a language joins a day ({1}) and a time ({0}), read once per locale."""
    return str(get_datetime_format("long" if style == "long" else "medium", locale=locale)).replace("'", "")


def format_time(value: datetime | None) -> str:
    """'14:05 (UTC+3)': 24-hour clock, in the reader's zone, with the zone."""
    if value is None:
        return ""
    moment = local(value)
    return f"{babel_format_time(moment, TIME_PATTERN, locale=_locale())} ({offset_label(moment)})"


def format_datetime(value: datetime | None, style: str = "medium") -> str:
    """'2 Dec 2026, 14:05 (UTC+3)' in English; each language joins day and time its own way."""
    if value is None or value == "":
        return ""
    moment = local(value)
    locale = _locale()
    day = _format_day(moment.date(), style, locale)
    time = f"{babel_format_time(moment, TIME_PATTERN, locale=locale)} ({offset_label(moment)})"
    return _datetime_pattern(locale, style).replace("{1}", day).replace("{0}", time)


def machine(value: datetime | date | None) -> str:
    """The value of a `<time datetime>` attribute: '2026-12-02T11:05:00Z', or '2026-12-02'."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _aware(value).astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()

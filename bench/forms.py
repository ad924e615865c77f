"""Reading and filling HTML forms the way a browser does, for the load driver.

The driver never guesses field names: it takes every form field from the page it was given
(the CSRF token, the optimistic-lock version, the current text), changes only what a user would
change, and sends the form back to its action with its submit button.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin


@dataclass
class Field:
    tag: str  # input, select, textarea, button
    name: str
    type: str = ""
    value: str = ""
    checked: bool = False
    options: list[tuple[str, bool]] = field(default_factory=list)  # (value, selected)
    label: str = ""


@dataclass
class Form:
    action: str
    method: str
    fields: list[Field] = field(default_factory=list)

    def values(self, *, button: re.Pattern | None = None) -> list[tuple[str, str]]:
        """The name/value pairs a browser sends, with the first button matching `button` (if any)."""
        pairs: list[tuple[str, str]] = []
        pressed = None
        for f in self.fields:
            if f.tag == "button" or f.type in ("submit", "image"):
                if pressed is None and f.name and button and button.search(f"{f.name} {f.value} {f.label}"):
                    pressed = f
                continue
            if not f.name or f.type in ("file", "reset"):
                continue
            if f.type in ("checkbox", "radio"):
                if f.checked:
                    pairs.append((f.name, f.value or "on"))
            elif f.tag == "select":
                chosen = [v for v, selected in f.options if selected] or [v for v, _ in f.options[:1]]
                pairs.extend((f.name, v) for v in chosen)
            else:
                pairs.append((f.name, f.value))
        if pressed is not None:
            pairs.append((pressed.name, pressed.value))
        return pairs

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


class _FormParser(HTMLParser):
    def __init__(self, page_url: str):
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._text: Field | None = None  # the textarea, option or button whose text is being read
        self._select: Field | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._form = Form(
                urljoin(self.page_url, a.get("action") or self.page_url), a.get("method", "get").lower()
            )
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        if tag == "input":
            self._form.fields.append(
                Field(
                    "input",
                    a.get("name", ""),
                    a.get("type", "text").lower(),
                    a.get("value", ""),
                    "checked" in a,
                )
            )
        elif tag == "textarea":
            self._text = Field("textarea", a.get("name", ""))
            self._form.fields.append(self._text)
        elif tag == "select":
            self._select = Field("select", a.get("name", ""), "select")
            self._form.fields.append(self._select)
        elif tag == "option" and self._select is not None:
            self._select.options.append((a.get("value", ""), "selected" in a))
        elif tag == "button":
            self._text = Field(
                "button", a.get("name", ""), a.get("type", "submit").lower(), a.get("value", "")
            )
            self._form.fields.append(self._text)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag in ("textarea", "button"):
            self._text = None

    def handle_data(self, data):
        if self._text is not None:
            if self._text.tag == "textarea":
                self._text.value += data
            else:
                self._text.label += data.strip()


def parse_forms(html: str, page_url: str) -> list[Form]:
    parser = _FormParser(page_url)
    parser.feed(html)
    return parser.forms


def post_forms(html: str, page_url: str) -> list[Form]:
    """The page's POST forms, without the sign-out form every page carries."""
    return [f for f in parse_forms(html, page_url) if f.method == "post" and not f.action.endswith("/logout")]

"""The small kit every view uses (see docs/CONTRIBUTING.md, "A new page").

- `mel_app.kit.errors`: `DomainError`, the base of the errors services raise for the user.
- `mel_app.kit.cells`: `csv_safe`, the formula guard of every CSV and XLSX writer;
  `decode_csv_text`, how every CSV file we are given is read (UTF-8, else Windows-1252).
- `mel_app.kit.web`: loaders (`get_or_404`, `project_or_404`, and `confirmed_child` for a bare
  POST on a project's row: both loaded, then the `ConfirmForm` checked or 400), `saving` (commit
  or roll back and say so), `ConfirmForm`, `choices`, `download`.
- `mel_app.kit.confirming`: `before_confirmation`, the first leg of a step confirmed on a page of
  its own (the page, the refusal when the step is no longer allowed, or go ahead).

This package imports nothing at its top so that services can import the errors without Flask.
"""

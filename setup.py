"""The package list, which pyproject.toml cannot express: the packages found under mel_app/ plus
the top-level templates/ and migrations/ directories, which pyproject.toml maps into the package
as mel_app.templates and mel_app.migrations. Everything else is in pyproject.toml."""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["mel_app", "mel_app.*"]), "mel_app.templates", "mel_app.migrations"])

"""The attack suite: headers, stored XSS, form fuzzing and evidence files (see docs/SECURITY.md)."""

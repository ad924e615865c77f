"""Public project dashboards and the public IATI activity file (no sign-in)."""

"""The signed-in user's own account: name, language, password, sessions."""

"""The app as `make bench` serves it: production settings, plain HTTP on 127.0.0.1.

Only what plain HTTP on the loopback forces differs from production: the session cookie cannot
be `Secure`/`__Host-` without TLS. Rate limits are off so that fifty sign-ins from one address in
a few seconds are not refused. The bench sends no email, so the required PUBLIC_BASE_URL is a
placeholder unless one is given. MEL_BENCH=1 adds the query counts and the bare page. The API's
per-token rate limit comes from the environment like every setting: bench/run.py raises it
(API_RATE_LIMIT) so that fifty clients reading in a closed loop are not refused.
"""

import os

from config import ProductionConfig
from mel_app import create_app

app = create_app(
    ProductionConfig,
    SESSION_COOKIE_SECURE=False,
    SESSION_COOKIE_NAME="mel_session",
    PREFERRED_URL_SCHEME="http",
    RATELIMIT_ENABLED=False,
    DEMO_ACCOUNTS_SKIP_2FA=True,
    PUBLIC_BASE_URL=os.environ.get("PUBLIC_BASE_URL") or "https://bench.invalid",
)

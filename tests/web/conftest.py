"""Page tests run over plain http, so the session cookie goes without the Secure flag."""

import pytest


@pytest.fixture
def settings_overrides() -> dict:
    return {"cookie_secure": False}

"""An application per test on the parametrised database (SQLite and PostgreSQL), emptied first."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import Engine

from oms.access import create_api_key
from oms.app import create_app, service_state
from oms.bootstrap import bootstrap
from oms.db import make_session_factory
from oms.settings import Settings

ADMIN_KEY = "test-admin"
# Channel credentials are sealed with this key, never with a key file in the project's var/.
SECRET_KEY = "u6tiAb0nQ7g3Zr6b4hOaU4W-E0vdLQqMbBP9WBvX1sQ="  # noqa: S105 (a test key)


# One app per database and test process: building an app (Litestar registering every route)
# is most of what a short API test costs. Each test gets fresh services, as a fresh process
# would have (caches, rate limits, leases), over its emptied database.
_APPS: dict[str, Litestar] = {}


@pytest.fixture
def client(engine: Engine, database_url: str) -> Iterator[TestClient[Litestar]]:
    """Authenticated as the bootstrap admin; pass other `headers=` to act as someone else."""
    settings = Settings(
        database_url=database_url, bootstrap_admin_key=ADMIN_KEY, secret_key=SECRET_KEY
    )
    app = _APPS.get(database_url)
    if app is None:
        app = _APPS[database_url] = create_app(settings)
    else:
        app.state.update(service_state(bootstrap(settings)))
    with TestClient(app) as test_client:
        test_client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        yield test_client


@pytest.fixture
def key_for(engine: Engine) -> Callable[[str], dict[str, str]]:
    """Headers carrying a fresh API key of the given role."""
    factory = make_session_factory(engine)

    def make(role: str) -> dict[str, str]:
        issued = create_api_key(factory, f"{role} key", role)
        return {"Authorization": f"Bearer {issued.key}"}

    return make

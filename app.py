"""Taskhall's Chalice app. Wiring only: middleware, the route table, event sources and schedules.

Routes are mounted from `chalicelib/handlers/route_table.py`; each handler module loads on the first request to
one of its routes (handlers/routing.py, decision note 0007). What nearly every request needs is imported here,
so the init phase pays for it rather than a first request: sign-in (services/sessions, with pynamodb and
botocore) and the list models every listing shares (handlers/pagination), whose build also pays pydantic's
one-time schema set-up.
"""

from chalice import Chalice

from chalicelib.config import settings
from chalicelib.handlers import events, pagination, routing, schedules, web  # noqa: F401 - see above
from chalicelib.services import sessions  # noqa: F401 - see above

app = Chalice(app_name="taskhall", configure_logs=False)  # adapters/log.py owns logging (redacted JSON)
app.api.binary_types = []  # every response is text (JSON or CSV)
app.register_middleware(web.http_middleware, "http")

app.register_blueprint(events.bp)
app.register_blueprint(schedules.bp)
routing.mount(app, local=settings().is_local)

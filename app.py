"""Taskhall's Chalice app. Wiring only: middleware, the route table, event sources and schedules.

Routes are mounted from `chalicelib/handlers/route_table.py`; each handler module loads on the first request to
one of its routes (handlers/routing.py, decision note 0007). Sign-in is imported here because nearly every
request needs it, so the cold start pays for it once, in the init phase, rather than the first request.
"""

from chalice import Chalice

from chalicelib.config import settings
from chalicelib.handlers import events, routing, schedules, web
from chalicelib.services import sessions  # noqa: F401 - see above

app = Chalice(app_name="taskhall", configure_logs=False)  # adapters/log.py owns logging (redacted JSON)
app.api.binary_types = []  # every response is text (JSON or CSV)
app.register_middleware(web.http_middleware, "http")

app.register_blueprint(events.bp)
app.register_blueprint(schedules.bp)
routing.mount(app, local=settings().is_local)

"""Admin (and public page) routes registered from a manifest, their modules imported on first use.

Every API route lives in one Lambda function, and nearly all of its invocations are WeChat
callbacks. Importing the nine admin modules and the article pages (and the store, CMS, job and
WeChat API modules behind them) at cold start made a follower's first message wait for code it
does not use. So `app.py` registers those routes from `admin_routes.json` (path, method, module,
view) with a small view that imports the module on its first call and hands it the request.

The manifest is generated from the modules themselves (`make infra`, infra/build.py) and a unit
test fails when it is stale, as for the CloudFormation template. Outside Lambda a stale manifest
also heals itself: it records a fingerprint of the modules' route declarations, and when that no
longer matches (an edited route, not yet `make infra`), the routes are read from the modules.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any

# The Blueprint modules behind /admin, in registration order.
ADMIN_MODULES: tuple[str, ...] = (
    "admin_rules",
    "admin_wechat",
    "admin_media",
    "admin_cms",
    "admin_followers",
    "admin_stats",
    "admin_campaigns",
    "admin_flows",
    "admin_points",
    "admin_faq",
    "admin_faq_tools",
    "admin_team",
    "admin_audit",
    "admin_wxaccount",
    "admin_notify",
    "admin_subscribe",
    "admin_publishing",
    "admin_channels",
    "admin_reach",
    "admin_desk",
    "admin_docs",
)
# Every module whose routes are registered lazily: the admin API and the public article pages.
LAZY_MODULES: tuple[str, ...] = (*ADMIN_MODULES, "pages", "pages_auth")
MANIFEST_PATH = Path(__file__).with_name("admin_routes.json")
# Chalice answers a body whose Content-Type a route does not list (by default anything but
# application/json) with its own `415 {"Code": "UnsupportedMediaType"}` before the view runs.
# These routes let every type through instead: admin_route refuses a write whose body is not
# declared JSON with the project's `415 {"error"}` (handlers.common.declares_json).
CHALICE_DEFAULT_TYPES = ["application/json"]
ANY_TYPE = ["*/*"]
_PACKAGE = "chalicelib.handlers"
# A route declaration: the decorator lines from `@bp.route(` down to the view's `def`.
_DECLARATION = re.compile(r"^@bp\.route\(.*?^def \w+", re.MULTILINE | re.DOTALL)
log = logging.getLogger("wxless.routing")


def fingerprint() -> str:
    """sha1 over every lazy module's route declarations (text only: no import, ~1 ms)."""
    digest = hashlib.sha1()
    for name in LAZY_MODULES:
        source = Path(__file__).with_name(f"{name}.py").read_text(encoding="utf-8")
        for declaration in _DECLARATION.findall(source):
            digest.update(f"{name}\n{declaration}\n".encode())
    return digest.hexdigest()


def scan() -> list[dict[str, Any]]:
    """The lazy routes as the modules declare them (imports every lazy module)."""
    return [dict(route) for route in _scan()]


@functools.cache
def _scan() -> tuple[dict[str, Any], ...]:
    # Once per process: Chalice consumes a Blueprint's route options when it registers it
    # (`methods` is popped), so registering the same Blueprint twice silently turns every
    # route into GET.
    from chalice import Chalice

    scratch = Chalice(app_name="wxless-routes")
    owner: dict[int, str] = {}
    for name in LAZY_MODULES:
        module = importlib.import_module(f"{_PACKAGE}.{name}")
        scratch.register_blueprint(module.bp)
        for attr, value in vars(module).items():
            if callable(value) and getattr(value, "__module__", None) == module.__name__:
                owner.setdefault(id(value), f"{name}:{attr}")
    routes = []
    for path, methods in scratch.routes.items():
        for method, entry in methods.items():
            where = owner.get(id(entry.view_function))
            if where is None:
                raise ValueError(f"{method} {path}: its view is not a module-level function")
            # A lazy view cannot carry these; these routes do auth and CORS themselves.
            if entry.api_key_required or entry.authorizer is not None or entry.cors is not None:
                raise ValueError(f"{method} {path}: api keys, authorizers and cors= unsupported")
            module, view = where.split(":")
            declared = entry.content_types
            route = {
                "path": path,
                "method": method,
                "module": module,
                "view": view,
                "content_types": ANY_TYPE if declared == CHALICE_DEFAULT_TYPES else declared,
            }
            if hasattr(entry.view_function, "permission"):  # an admin route (handlers.gate)
                route["permission"] = entry.view_function.permission
            routes.append(route)
    return tuple(sorted(routes, key=lambda r: (r["path"], r["method"])))


def render(routes: list[dict[str, Any]]) -> str:
    """The manifest: the fingerprint, then one route per line (reviewable diffs)."""
    lines = ",\n".join("  " + json.dumps(route, ensure_ascii=False) for route in routes)
    return f'{{"fingerprint": "{fingerprint()}", "routes": [\n{lines}\n]}}\n'


def manifest_routes() -> list[dict[str, Any]]:
    manifest = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
    # Lambda runs what `make package` built from a checked tree: trust it, skip the ~1 ms check.
    if os.environ.get("LAMBDA_TASK_ROOT") or manifest["fingerprint"] == fingerprint():
        return manifest["routes"]
    log.warning("routing.stale_manifest: admin routes changed; run `make infra`")
    return scan()


def register(app: Any) -> None:
    """Register every route of the manifest on `app` with a lazy view."""
    for route in manifest_routes():
        view = _lazy_view(app, route["module"], route["view"])
        if "permission" in route:  # what the route declares, readable without its module
            view.permission = route["permission"]  # type: ignore[attr-defined]
        app.route(route["path"], methods=[route["method"]], content_types=route["content_types"])(
            view
        )


def declared_permissions(app: Any) -> dict[tuple[str, str], str | None]:
    """{(path, METHOD): permission} of every admin route on `app` (None: declared none)."""
    out: dict[tuple[str, str], str | None] = {}
    for path, methods in app.routes.items():
        for method, entry in methods.items():
            if path.startswith("/admin") and method != "OPTIONS":
                out[(path, method)] = getattr(entry.view_function, "permission", None)
    return out


def _lazy_view(app: Any, module_name: str, view_name: str) -> Any:
    qualified = f"{_PACKAGE}.{module_name}"

    def view(**params: Any) -> Any:
        module = importlib.import_module(qualified)  # a dict lookup once imported
        # A Blueprint reads current_request from the app it was registered on; these never are
        # (their routes are these views), so point every loaded one at ours: a module may use
        # another's Blueprint (its import came along with this one). A threaded server (`chalice
        # local`) may be importing a module on another thread: it is in sys.modules before its
        # body ran, so it may have no `bp` yet. Skip it: this module's own imports are complete,
        # and the importing thread points that Blueprint at the app once its import is done.
        for name in LAZY_MODULES:
            blueprint = getattr(sys.modules.get(f"{_PACKAGE}.{name}"), "bp", None)
            if blueprint is not None and blueprint._current_app is not app:
                blueprint._current_app = app
        return getattr(module, view_name)(**params)

    view.__name__ = view_name
    view.__qualname__ = f"{module_name}.{view_name}"
    return view

"""wxless: a serverless backend for a WeChat Official Account.

Thin on purpose: routes live in chalicelib.handlers Blueprints; scheduled and queue handlers are
two-line wrappers around chalicelib.jobs.
"""

from chalice import Chalice

from chalicelib.handlers import admin_rules, callback, health

app = Chalice(app_name="wxless")
app.register_blueprint(callback.bp)
app.register_blueprint(admin_rules.bp)
app.register_blueprint(health.bp)

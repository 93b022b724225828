"""The framework's ceiling: a bare Flask JSON endpoint, served by the same gunicorn as the service.

`gunicorn --chdir bench bare_app:app`; POST /bare with any JSON object → {"ok": true}.
"""

from flask import Flask, request

app = Flask(__name__)


@app.post("/bare")
def bare():
    """Parse the JSON body and answer a small JSON object, as the service's endpoints do."""
    request.get_json()
    return {"ok": True}


@app.get("/healthz")
def healthz():
    return {"status": "ok"}

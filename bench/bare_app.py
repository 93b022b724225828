"""The framework's ceiling: a bare Flask JSON endpoint, served by the same gunicorn as the service.

`gunicorn --chdir bench bare_app:app`; POST /bare with any JSON object → {"ok": true}.

POST /bare-sql adds the SQL of one redemption and nothing else: a conditional UPDATE of an
account and an INSERT of its entry, committed, on a psycopg connection per thread to the
database named by BENCH_FLOOR_DATABASE (tables made by bench/checkout.py). It is the floor of
what any checkout write can cost here: the framework plus one durable transaction.
"""

import os
import random
import threading

from flask import Flask, request

app = Flask(__name__)
_local = threading.local()  # a connection per thread: gthread workers serve several at once
FLOOR_ACCOUNTS = 64


@app.post("/bare")
def bare():
    """Parse the JSON body and answer a small JSON object, as the service's endpoints do."""
    request.get_json()
    return {"ok": True}


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


@app.post("/bare-sql")
def bare_sql():
    """Parse the JSON body, spend 1 from a random account with the redemption's two statements."""
    request.get_json()
    connection = getattr(_local, "connection", None)
    if connection is None:
        import psycopg

        connection = _local.connection = psycopg.connect(os.environ["BENCH_FLOOR_DATABASE"])
    account = random.randrange(FLOOR_ACCOUNTS)
    with connection.transaction():
        moved = connection.execute(
            "UPDATE bench_floor_accounts SET balance = balance - 1 "
            "WHERE id = %s AND balance - 1 >= held RETURNING balance",
            (account,),
        ).fetchone()
        connection.execute(
            "INSERT INTO bench_floor_entries (account_id, amount, balance_after, created_at) "
            "VALUES (%s, -1, %s, now())",
            (account, moved[0]),
        )
    return {"ok": True, "balance": moved[0]}

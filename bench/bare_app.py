"""The framework's ceiling: a bare Flask JSON endpoint, served by the same gunicorn as the service.

`gunicorn --chdir bench bare_app:app`; POST /bare with any JSON object → {"ok": true}.

POST /bare-sql adds the SQL of one redemption and nothing else: a conditional UPDATE of an
account and an INSERT of its entry, committed, on a psycopg connection per thread to the
database named by BENCH_FLOOR_DATABASE (tables made by bench/checkout.py). It is the floor of
what any checkout write can cost here: the framework plus one durable transaction.

POST /bare-read is the quote's floor the same way: the bare view plus one indexed SELECT of an
account's balance, in autocommit (one round trip), on its own connection per thread.
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


def _connection(name: str, autocommit: bool):
    connection = getattr(_local, name, None)
    if connection is None:
        import psycopg

        connection = psycopg.connect(os.environ["BENCH_FLOOR_DATABASE"], autocommit=autocommit)
        setattr(_local, name, connection)
    return connection


@app.post("/bare-read")
def bare_read():
    """Parse the JSON body, read one account's figures by its key: a quote's one round trip."""
    request.get_json()
    balance, held = _connection("reader", True).execute(
        "SELECT balance, held FROM bench_floor_accounts WHERE id = %s",
        (random.randrange(FLOOR_ACCOUNTS),),
    ).fetchone()
    return {"ok": True, "available": balance - held}


@app.post("/bare-sql")
def bare_sql():
    """Parse the JSON body, spend 1 from a random account with the redemption's two statements."""
    request.get_json()
    connection = _connection("writer", False)
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

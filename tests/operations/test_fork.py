"""A forked child (gunicorn --preload, whose master may already have used the database) opens
connections of its own instead of sharing the sockets its parent still uses."""

import os

from sqlalchemy import text

from bonus_service.db import Database


def test_a_forked_child_does_not_use_its_parents_pooled_connections(database_url):
    db = Database(database_url)
    try:
        with db.engine.connect() as connection:  # the parent's connection, back in its pool
            connection.execute(text("SELECT 1"))
        assert db.engine.pool.checkedin() == 1
        reading, writing = os.pipe()
        child = os.fork()
        if child == 0:  # pragma: no cover - the child reports through the pipe
            try:
                inherited = db.engine.pool.checkedin()
                with db.engine.connect() as connection:
                    works = connection.execute(text("SELECT 1")).scalar() == 1
                os.write(writing, f"{inherited} {works}".encode())
            finally:
                os._exit(0)
        os.close(writing)
        _, status = os.waitpid(child, 0)
        report = os.read(reading, 100).decode()
        os.close(reading)
        assert status == 0 and report == "0 True"  # nothing inherited, a connection of its own
        with db.engine.connect() as connection:  # and the parent's still works
            assert connection.execute(text("SELECT 1")).scalar() == 1
    finally:
        db.dispose()

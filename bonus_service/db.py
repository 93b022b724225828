"""Engines, sessions and the unit of work: a transaction that rolls back unless its block
commits it (no session is committed behind a caller's back). Nothing of Flask: the app's
database is attached and found by `app_db`."""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import (
    BindParameter,
    Engine,
    Insert,
    Select,
    UpdateBase,
    create_engine,
    event,
    exc,
    text,
)
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import visitors

# A writer waits this long for SQLite's lock, then answers 503: well inside gunicorn's 30 s
# worker timeout, so a queue of writers ends in a clear answer rather than a killed worker.
BUSY_SECONDS = 10


# Every engine made here: a forked child (gunicorn --preload, the scheduler in the master)
# must not use the pooled connections it inherited, whose sockets its parent still uses. An ops
# audit saw one PostgreSQL socket shared by the master and two workers, and a worker hang on it.
_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


def _forget_inherited_connections() -> None:
    """In a forked child: drop the pools' connections without closing them (SQLAlchemy's
    recipe for multiprocessing: closing would end the parent's sessions on the server)."""
    for engine in list(_ENGINES):
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_inherited_connections)


def make_engine(url: str, *, autocommit: bool = False) -> Engine:
    """An engine of `_make_engine`'s, whose inherited connections a forked child forgets."""
    engine = _make_engine(url, autocommit=autocommit)
    _ENGINES.add(engine)
    return engine


def _make_engine(url: str, *, autocommit: bool = False) -> Engine:
    """An engine set up for real concurrent use on SQLite or PostgreSQL.

    `autocommit` (PostgreSQL) makes the reading engine: its connections never open a
    transaction, so the pool has nothing to roll back when one is given back.
    """
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    # No pool_pre_ping: it costs a round trip per request. A connection found dead is
    # invalidated with the whole pool by SQLAlchemy, that request answers 503 and the next
    # ones reconnect (after a PostgreSQL restart a worker may answer one 503 per pool: reads
    # and writes have one each); pool_recycle retires connections a server may have dropped
    # while idle.
    if autocommit:
        return create_engine(
            url,
            hide_parameters=True,
            pool_size=5,
            max_overflow=20,
            pool_recycle=1800,
            isolation_level="AUTOCOMMIT",
            pool_reset_on_return=None,
        )
    # hide_parameters: an error's message (logged with a 500) carries no phone, code hash or
    # amount, as docs/operations.md promises of the logs
    return create_engine(
        url, pool_size=10, max_overflow=20, pool_recycle=1800, hide_parameters=True
    )


def _sqlite_engine(url: str) -> Engine:
    # pysqlite defers BEGIN until the first write, which turns a read-then-write into a lock
    # upgrade that can fail under load; we take control of BEGIN ourselves (SQLAlchemy recipe).
    engine = create_engine(
        url,
        connect_args={"timeout": BUSY_SECONDS, "check_same_thread": False},
        hide_parameters=True,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_SECONDS * 1000}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # A writing unit of work takes the write lock up front (IMMEDIATE), so two writers
        # queue on busy_timeout instead of deadlocking on an upgrade.
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


class Database:
    """The app's engine and session factories for reading and for writing."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        writer = (
            self.engine.execution_options(sqlite_begin="IMMEDIATE")
            if self.is_sqlite
            else self.engine
        )
        # PostgreSQL reads run in autocommit: a lone SELECT needs no BEGIN/ROLLBACK round trips,
        # and no read decides a movement of money (those read inside the writing transaction).
        # They have a pool of their own, so no connection switches modes on every read.
        self.reader = self.engine if self.is_sqlite else make_engine(url, autocommit=True)
        self._read = sessionmaker(self.reader, expire_on_commit=False, autoflush=False)
        self._write = sessionmaker(writer, expire_on_commit=False, autoflush=False)

    @contextmanager
    def unit_of_work(self, *, write: bool = True) -> Iterator[Session]:
        """A transaction that rolls back unless the block calls session.commit().

        A refusal marked `keep_writes` (errors.DomainError.keeping_writes: a wrong SMS code's
        try must count although the request fails) commits what the block wrote
        before it was raised.
        """
        session = (self._write if write else self._read)()
        try:
            yield session
        except Exception as error:
            if getattr(error, "keep_writes", False):  # a refusal that keeps its writes
                session.commit()
            raise
        finally:
            # close() rolls back whatever was not committed and, unlike rollback(), leaves
            # loaded objects readable after the block
            session.close()

    def read_row(self, statement: Select, params: dict) -> tuple | None:
        """The first row of a hot, simple SELECT, run straight on a pooled DBAPI connection.

        The quote's guest lookup: SQLAlchemy's execution (context, result, row objects) cost
        more than the query itself. This path keeps the pool and the translation of errors
        and skips the rest (see `run`). PostgreSQL runs it on the reading pool, in
        autocommit: one round trip, no BEGIN.
        """
        prepared = _prepare(statement, self.reader.dialect)
        if prepared.fallback:
            with self.reader.connect() as connection:
                return connection.execute(statement, params).first()
        dbapi = self.reader.dialect.loaded_dbapi
        try:
            pooled = self.reader.raw_connection()  # the pool's connect errors come out raw
        except dbapi.Error as error:
            raise _translated(error, dbapi, prepared.sql, params) from error
        try:
            rows = prepared.execute(pooled.driver_connection, params)
            return rows[0] if rows else None
        except dbapi.Error as error:
            # whatever failed (most likely the server went away), the connection is not given
            # back in an unknown state; the error is translated as SQLAlchemy would (→ 503)
            pooled.invalidate(error)
            raise _translated(error, dbapi, prepared.sql, params) from error
        finally:
            pooled.close()

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
        if self.reader is not self.engine:
            self.reader.dispose()


class _Prepared:
    """A Core statement compiled once for a dialect, run on the driver's cursor directly.

    Only documented API: the SQL and the call's parameters (the statement's own literals
    among them, in the driver's order) come from `SQLCompiler.construct_expanded_state`
    (SQLAlchemy 2.0); each named parameter is converted by the type of its bindparam (found
    with `visitors.iterate`) or, in an INSERT, of its column. A statement with a literal
    whose type converts values goes through `Connection.execute` (`fallback`): the compiled
    statement does not name its literals' types publicly. A call whose parameters were
    exactly the statement's is remembered: later calls with the same keys hand their
    parameters to the driver in that order, each converted by its type where it has one.
    """

    def __init__(self, statement, dialect, column_keys=None):
        self.compiled = statement.compile(dialect=dialect, column_keys=column_keys)
        self.sql = self.compiled.string
        self.fallback = False
        self._processors = {}
        for bind in visitors.iterate(statement):
            if not isinstance(bind, BindParameter):
                continue
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is None:
                continue
            if bind.unique:  # a literal: its name is made up by the compiler
                self.fallback = True
            self._processors[bind.key] = processor
        for name in column_keys or ():  # an INSERT's values, named as its columns
            column = statement.table.c.get(name)  # (or bindparams of its SELECT, found above)
            processor = column is not None and column.type.dialect_impl(dialect).bind_processor(
                dialect
            )
            if processor and name not in self._processors:
                self._processors[name] = processor
        self._known: frozenset | None = None  # the keys of a call whose SQL is self.sql
        self._convert = False  # whether any of them is converted by its type
        self._order: tuple[str, ...] | None = None  # their order, for a positional driver
        # whether rows come back, known up front: asking the cursor (`description`) builds a
        # column object per column on every call
        self._rows: bool | None = None  # None: ask the cursor
        if isinstance(statement, Select):
            returned = [column.type for column in statement.selected_columns]
            self._rows = True
        elif isinstance(statement, UpdateBase):
            returned = [column["type"] for column in statement.returning_column_descriptions]
            self._rows = bool(returned)
        else:  # text(): its columns carry no types to convert
            returned = []
        if any(t.dialect_impl(dialect).result_processor(dialect, None) for t in returned):
            raise TypeError(f"only columns without type conversions come back raw: {self.sql}")

    def _arguments(self, params: dict) -> tuple[str, dict | list]:
        """The SQL and the driver's parameters for `params`."""
        if self._known is not None and params.keys() == self._known:
            processors = self._processors
            if self._convert:
                params = {name: processors[name](value) if name in processors else value
                          for name, value in params.items()}  # fmt: skip
            if self._order is None:
                return self.sql, params
            return self.sql, [params[name] for name in self._order]
        state = self.compiled.construct_expanded_state(params)
        processors = self._processors
        values = {
            name: processors[name](value) if name in processors else value
            for name, value in state.parameters.items()
        }
        if (
            state.parameters.keys() == params.keys()
            and not state.parameter_expansion
            and state.statement == self.sql
        ):
            # the statement's parameters are exactly the call's (no value of its own, nothing
            # expanded): later calls with these keys skip construct_expanded_state, which was
            # most of a write's own cost (bench/profile_checkout.py --profile pair)
            self._order = tuple(state.positiontup) if state.positiontup is not None else None
            self._convert = any(name in processors for name in params)
            self._known = frozenset(params)
        if state.positiontup is not None:
            return state.statement, [values[name] for name in state.positiontup]
        return state.statement, values

    def execute(self, connection, params: dict) -> list[tuple]:
        sql, values = self._arguments(params)
        cursor = connection.cursor()
        try:
            cursor.execute(sql, values)
            rows = self._rows if self._rows is not None else cursor.description is not None
            return cursor.fetchall() if rows else []
        finally:
            cursor.close()


_PREPARED: dict[tuple, _Prepared] = {}


def _prepare(statement, dialect, params: dict | None = None) -> _Prepared:
    # an INSERT without explicit values takes its columns from the parameters given
    columns = tuple(params) if isinstance(statement, Insert) and params is not None else None
    key = (statement, dialect.name, columns)
    prepared = _PREPARED.get(key)
    if prepared is None:
        prepared = _PREPARED[key] = _Prepared(statement, dialect, columns)
    return prepared


# PEP 249's exceptions, the more particular first: each is translated to SQLAlchemy's of the
# same name, as Connection.execute does (an OperationalError is answered 503)
_DBAPI_ERRORS = (
    "IntegrityError", "DataError", "ProgrammingError", "NotSupportedError", "InternalError",
    "OperationalError", "InterfaceError", "DatabaseError",
)  # fmt: skip


def _translated(error: Exception, dbapi, sql: str, params: dict) -> exc.DBAPIError:
    """The driver's `error` as SQLAlchemy's exception of its PEP 249 class; parameters are
    hidden, as the engines hide them (hide_parameters)."""
    for name in _DBAPI_ERRORS:
        if isinstance(error, getattr(dbapi, name)):
            return getattr(exc, name)(sql, params, error, hide_parameters=True)
    return exc.DBAPIError(sql, params, error, hide_parameters=True)


def run(session: Session, statement, params: dict) -> list[tuple]:
    """Run a prebuilt statement in the session's transaction, straight on its DBAPI cursor.

    For checkout's hot statements: SQLAlchemy's execution (context, result and row objects)
    cost ~55 µs a statement here, more than many of the statements themselves; a pair runs
    ~9 of them (docs/performance.md has the A/B). Parameters are converted by their
    SQLAlchemy types as usual; statements whose result columns would need converting are
    refused when first prepared. DBAPI errors come out translated, as from session.execute.
    """
    connection = session.connection()  # begins the transaction (SQLite: BEGIN IMMEDIATE)
    dialect = connection.dialect
    prepared = _prepare(statement, dialect, params)
    if prepared.fallback:
        result = connection.execute(statement, params)
        return result.all() if result.returns_rows else []
    try:
        return prepared.execute(connection.connection.driver_connection, params)
    except dialect.loaded_dbapi.Error as error:
        raise _translated(error, dialect.loaded_dbapi, prepared.sql, params) from error

"""Program versions for the admin: draft, change, replay past orders under, publish."""

from __future__ import annotations

from flask import after_this_request, current_app, g, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

import rules
from bonus_service import program
from bonus_service.app_db import get_db, unit_of_work
from bonus_service.auth import require_scope
from bonus_service.clock import utcnow
from bonus_service.http import JsonBodyParser
from bonus_service.idempotency import idempotent
from bonus_service.models import ProgramVersion
from bonus_service.problems import Problem
from bonus_service.schemas import (
    ProgramIn,
    ProgramVersionOut,
    ProgramVersionsOut,
    PublishIn,
    SimulateIn,
    SimulationOut,
)
from bonus_service.services import programs
from bonus_service.services.replays import ReplayJob, Replays, UnknownReplay

blp = Blueprint("programs", __name__, url_prefix="/v1/programs",
                description="Program versions: drafts, replays of past orders, publication.")
ADMIN = [{"apiKey": []}]
NO_VERSION = "No program version with this id."


@blp.route("")
class Programs(MethodView):
    @require_scope("admin")
    @blp.doc(security=ADMIN)
    @blp.response(200, ProgramVersionsOut)
    def get(self):
        """Every version, drafts and published, the latest effective date first."""
        with unit_of_work(write=False) as session:
            rows = programs.stored(session)
        stored = {row.version for row in rows}
        shipped = [p for p in program.book() if p.version not in stored]
        versions = [_row(row) for row in rows] + [_shipped(p) for p in shipped]
        versions.sort(key=lambda v: v["effective_from"], reverse=True)
        return {"versions": versions}

    @require_scope("admin")
    @idempotent
    @blp.doc(security=ADMIN)
    @blp.arguments(ProgramIn())
    @blp.response(201, ProgramVersionOut)
    @blp.alt_response(409, description="A version with this id exists already.")
    def post(self, args, *, session):
        """Store a draft (audited); an invalid program → 422 naming the field."""
        row = programs.create_draft(session, args["program"], program.book(),
                                    g.caller.name, utcnow())  # fmt: skip
        return _row(row)


@blp.route("/<string:version>")
class ProgramByVersion(MethodView):
    @require_scope("admin")
    @blp.doc(security=ADMIN)
    @blp.response(200, ProgramVersionOut)
    @blp.alt_response(404, description=NO_VERSION)
    def get(self, version):
        """One version with its program."""
        with unit_of_work(write=False) as session:
            row = session.get(ProgramVersion, version)
            if row is not None:
                return _row(row)
        try:
            return _shipped(program.book().get(version))
        except KeyError:
            raise Problem(404, NO_VERSION) from None

    @require_scope("admin")
    @idempotent
    @blp.doc(security=ADMIN)
    @blp.arguments(ProgramIn())
    @blp.response(200, ProgramVersionOut)
    @blp.alt_response(404, description=NO_VERSION)
    @blp.alt_response(409, description="The version is published: it never changes.")
    def put(self, args, version, *, session):
        """Change a draft (audited); its `program.version` stays the path's."""
        row = programs.change_draft(session, version, args["program"], g.caller.name,
                                    utcnow())  # fmt: skip
        return _row(row)


@blp.route("/<string:version>/publish")
class Publish(MethodView):
    @require_scope("admin")
    @idempotent
    @blp.doc(security=ADMIN)
    @blp.arguments(PublishIn())
    @blp.response(200, ProgramVersionOut)
    @blp.alt_response(404, description=NO_VERSION)
    @blp.alt_response(
        409, description="The version is published already, or another takes effect at that "
        "very instant."
    )
    def post(self, args, version, *, session):
        """Publish a draft to take effect at `effective_from` (audited). It shows as upcoming
        at once, and every instance decides by it from `effective_from` (within 10 s)."""
        row = programs.publish(session, version, args["effective_from"], program.book(),
                               g.caller.name, utcnow())  # fmt: skip
        shelf = program.shelf()
        after_this_request(lambda response: shelf.mark_stale() or response)
        return _row(row)


def _start_replay(*_view, version: str) -> None:
    """Start the replay before the key's transaction: the replay writes its own row."""
    args = JsonBodyParser().parse(SimulateIn(), location="json")
    candidate = _candidate(version)
    if "bonus_replays" not in current_app.extensions:  # its threads are this process's
        current_app.extensions["bonus_replays"] = Replays(get_db())
    replays = current_app.extensions["bonus_replays"]
    g.replay = replays.start(program.book(), candidate, args["since"], args["until"])


@blp.route("/<string:version>/simulate")
class Simulate(MethodView):
    @require_scope("admin")
    @idempotent(before=_start_replay)
    @blp.doc(security=ADMIN)
    @blp.arguments(SimulateIn())
    @blp.response(202, SimulationOut)
    @blp.alt_response(404, description=NO_VERSION)
    def post(self, _args, version, *, session):
        """Replay the completed orders placed in [since, until) under this version and under
        the versions they were placed on, in the background; no side effects. Answers the
        replay (202, Location); GET it for progress and, when done, the result."""
        del session  # the key's transaction has nothing else to write: the replay runs apart
        job = g.replay
        return _job(job), {"Location": url_for("programs.Simulation", version=version,
                                               replay_id=job.id)}  # fmt: skip


@blp.route("/<string:version>/simulate/<string:replay_id>")
class Simulation(MethodView):
    @require_scope("admin")
    @blp.doc(security=ADMIN)
    @blp.response(200, SimulationOut)
    @blp.alt_response(404, description="No replay of this version with this id.")
    def get(self, version, replay_id):
        """A replay's progress and, once done, its result (or why it failed)."""
        try:
            job = Replays(get_db()).get(replay_id)
        except UnknownReplay:
            job = None
        if job is None or job.candidate_version != version:
            raise Problem(404, "No replay of this version with this id.")
        return _job(job)


def _candidate(version: str) -> rules.Program:
    with unit_of_work(write=False) as session:
        row = session.get(ProgramVersion, version)
        if row is not None:
            return rules.load_program(programs.decode(row.data))
    try:
        return program.book().get(version)
    except KeyError:
        raise Problem(404, NO_VERSION) from None


def _row(row: ProgramVersion) -> dict:
    data = programs.decode(row.data)
    return {"version": row.version, "status": row.status, "effective_from": row.effective_from,
            "title": data.get("title"), "program": data,
            "created_by": row.created_by, "created_at": row.created_at,
            "updated_by": row.updated_by, "updated_at": row.updated_at,
            "published_by": row.published_by, "published_at": row.published_at}  # fmt: skip


def _shipped(p: rules.Program) -> dict:
    return {"version": p.version, "status": "published", "effective_from": p.effective_from,
            "title": p.title, "program": p.data}  # fmt: skip


def _job(job: ReplayJob) -> dict:
    return {"id": job.id, "version": job.candidate_version, "status": job.status,
            "since": job.since, "until": job.until, "done": job.done, "total": job.total,
            "started_at": job.started_at, "finished_at": job.finished_at,
            "result": job.result.as_data() if job.result is not None else None,
            "error": job.error}  # fmt: skip

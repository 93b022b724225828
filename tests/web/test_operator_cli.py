"""`bonus create-operator` makes console accounts (only an argon2id hash is stored);
`set-operator-password` replaces a forgotten or leaked password; `disable-operator` ends one."""

from sqlalchemy import select

from bonus_service.app_db import get_db
from bonus_service.models import AuditEntry, Operator
from tests.support.pages import PASSWORD, console_login, failures, make_operator, text


def test_create_operator_reads_the_password_from_stdin_and_stores_an_argon2id_hash(
    app, runner, client
):
    result = runner.invoke(
        args=["bonus", "create-operator", "Olga", "--password-stdin"], input="long enough pass\n"
    )
    assert result.exit_code == 0, result.output
    with get_db(app).unit_of_work(write=False) as session:
        operator = session.scalar(select(Operator))
        audited = session.scalar(select(AuditEntry))
    assert operator.name == "olga"
    assert operator.password_hash.startswith("$argon2id$")
    assert "long enough pass" not in operator.password_hash
    assert (audited.actor, audited.action, audited.target) == ("cli", "operator.create", "olga")
    assert console_login(client, "olga", "long enough pass").status_code == 303


def test_create_operator_prompts_twice_when_no_stdin_flag_is_given(app, runner):
    result = runner.invoke(
        args=["bonus", "create-operator", "petr"], input="prompted pass!\nprompted pass!\n"
    )
    assert result.exit_code == 0, result.output


def test_create_operator_refuses_a_short_password_a_bad_name_and_a_taken_name(runner):
    short = runner.invoke(
        args=["bonus", "create-operator", "ivan", "--password-stdin"], input="short\n"
    )
    assert short.exit_code != 0 and "at least 10 characters" in short.output
    bad = runner.invoke(
        args=["bonus", "create-operator", "иван", "--password-stdin"], input="x" * 12
    )
    assert bad.exit_code != 0 and "latin letters" in bad.output
    first = runner.invoke(
        args=["bonus", "create-operator", "ivan", "--password-stdin"], input="y" * 12
    )
    again = runner.invoke(
        args=["bonus", "create-operator", "IVAN", "--password-stdin"], input="z" * 12
    )
    assert first.exit_code == 0 and again.exit_code != 0 and "already exists" in again.output


def test_disabling_an_unknown_operator_is_an_error(runner):
    result = runner.invoke(args=["bonus", "disable-operator", "nobody"])
    assert result.exit_code != 0 and "no active operator" in result.output


def test_a_new_password_ends_the_open_sessions_and_lifts_the_lock(app, runner, client):
    make_operator(app)
    other = app.test_client()
    assert console_login(other).status_code == 303  # a session open elsewhere
    for n in range(5):
        console_login(client, password=f"wrong {n}")
    assert console_login(client).status_code == 429  # the name is locked

    result = runner.invoke(
        args=["bonus", "set-operator-password", "Anna", "--password-stdin"],
        input="a brand new passphrase\n",
    )

    assert result.exit_code == 0, result.output
    assert other.get("/console").location.endswith("/console/login")  # the session ended
    assert failures(app) == 0
    assert console_login(client, password=PASSWORD).status_code == 422  # the old one is gone
    assert console_login(client, password="a brand new passphrase").status_code == 303
    assert "Выйти (anna)" in text(client.get("/console"))
    with get_db(app).unit_of_work(write=False) as session:
        audited = session.scalars(select(AuditEntry).where(AuditEntry.actor == "cli")).all()
    assert [(a.action, a.target) for a in audited] == [("operator.password_reset", "anna")]


def test_a_new_password_needs_an_active_operator_and_a_long_enough_password(app, runner):
    make_operator(app)
    short = runner.invoke(
        args=["bonus", "set-operator-password", "anna", "--password-stdin"], input="short\n"
    )
    assert short.exit_code != 0 and "at least 10 characters" in short.output
    unknown = runner.invoke(
        args=["bonus", "set-operator-password", "nobody", "--password-stdin"], input="x" * 12
    )
    assert unknown.exit_code != 0 and "no active operator" in unknown.output
    runner.invoke(args=["bonus", "disable-operator", "anna"])
    disabled = runner.invoke(
        args=["bonus", "set-operator-password", "anna", "--password-stdin"], input="x" * 12
    )
    assert disabled.exit_code != 0 and "no active operator" in disabled.output


def test_create_operator_gives_the_role_asked_for_and_operator_by_default(app, runner):
    for args in (["sveta", "--role", "supervisor"], ["mila", "--role", "marketing"], ["petr"]):
        done = runner.invoke(args=["bonus", "create-operator", *args, "--password-stdin"],
                             input="long enough pass\n")  # fmt: skip
        assert done.exit_code == 0, done.output
    assert "supervisor 'olga' created" in runner.invoke(
        args=["bonus", "create-operator", "olga", "--role", "supervisor", "--password-stdin"],
        input="long enough pass\n").output  # fmt: skip
    with get_db(app).unit_of_work(write=False) as session:
        roles = dict(session.execute(select(Operator.name, Operator.role)).all())
        created = {a.target: a.details["role"] for a in session.scalars(
            select(AuditEntry).where(AuditEntry.action == "operator.create"))}  # fmt: skip
    assert roles == {"sveta": "supervisor", "mila": "marketing", "petr": "operator",
                     "olga": "supervisor"}  # fmt: skip
    assert created == roles


def test_create_operator_refuses_a_role_it_does_not_know(app, runner):
    refused = runner.invoke(args=["bonus", "create-operator", "ivan", "--role", "admin",
                                  "--password-stdin"], input="long enough pass\n")  # fmt: skip
    assert refused.exit_code == 2 and "--role" in refused.output
    with get_db(app).unit_of_work(write=False) as session:
        assert session.scalar(select(Operator)) is None

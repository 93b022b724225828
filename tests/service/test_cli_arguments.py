"""The CLI answers a wrong argument with a usage error naming it, never a traceback."""

import pytest


def invoke(runner, *args):
    result = runner.invoke(args=["bonus", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.mark.parametrize(
    "name", ["", " site", "site ", "a\x01b", "x" * 81, "site' OR 1=1 --", "a  b", "a;b"]
)
def test_create_client_refuses_a_name_no_audit_line_could_show(runner, name):
    result = invoke(runner, "create-client", name, "--scope", "checkout")
    assert result.exit_code == 2
    assert "Invalid value for 'NAME'" in result.output


def test_create_client_takes_a_name_of_eighty_characters(runner):
    assert invoke(runner, "create-client", "x" * 80, "--scope", "checkout").exit_code == 0


@pytest.mark.parametrize("name", ["cafe-pos-12", "site.v2", "Касса 12", "call_center"])
def test_create_client_takes_the_names_an_operator_can_write_in_a_query(runner, name):
    assert invoke(runner, "create-client", name, "--scope", "checkout").exit_code == 0


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])
def test_expire_before_any_program_was_in_force_says_so(runner, dry_run):
    result = invoke(runner, "expire", "--as-of", "2005-01-01", *dry_run)
    assert result.exit_code == 2
    assert "Invalid value for --as-of" in result.output and "in force" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", [["expire"], ["liability"]])
@pytest.mark.parametrize("moment", ["0001-01-01", "9999-12-31T23:59", "1990-01-01"])
def test_a_moment_off_the_calendar_is_a_usage_error(runner, command, moment):
    result = invoke(runner, *command, "--as-of", moment)
    assert result.exit_code == 2
    assert "the year must be 2000..2999" in result.output


def test_simulate_refuses_a_period_that_ends_before_it_starts(runner):
    result = invoke(runner, "simulate", "--rules", "rules/programs/2024-01-01-default.json",
                    "--since", "2025-02-01", "--until", "2025-01-01")  # fmt: skip
    assert result.exit_code == 2
    assert "is not before --until" in result.output
    result = invoke(runner, "simulate", "--rules", "rules/programs/2024-01-01-default.json",
                    "--since", "0001-01-01")  # fmt: skip
    assert result.exit_code == 2


def test_expire_refuses_a_future_moment_unless_it_only_looks(runner):
    """--as-of 2099 would burn balances not due yet, in entries dated ahead."""
    result = invoke(runner, "expire", "--as-of", "2099-01-01")
    assert result.exit_code == 2 and "only --dry-run may look ahead" in result.output
    looked = invoke(runner, "expire", "--as-of", "2099-01-01", "--dry-run")
    assert looked.exit_code == 0 and "would burn" in looked.output


HUGE = "99999999999999999999"
SIMULATE = ["simulate", "--rules", "rules/programs/2024-01-01-default.json",
            "--since", "2025-01-01"]


@pytest.mark.parametrize(
    ("command", "option", "value"),
    [
        (["expire", "--dry-run"], "--batch-size", HUGE),
        (["expire", "--dry-run"], "--batch-size", "0"),
        (SIMULATE, "--batch-size", HUGE),
        (SIMULATE, "--top", HUGE),
        (SIMULATE, "--top", "-1"),
        (["reconcile"], "--limit", HUGE),
        (["liability"], "--months", HUGE),
        (["serve"], "--workers", "0"),
        (["serve"], "--workers", HUGE),
    ],
)
def test_a_number_out_of_range_is_a_usage_error_naming_the_option(
    runner, monkeypatch, command, option, value
):
    def no_gunicorn(*_args):  # serve would become gunicorn in place of the test run
        raise AssertionError("serve started gunicorn")

    monkeypatch.setattr("os.execv", no_gunicorn)
    result = invoke(runner, *command, option, value)
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}'" in result.output
    assert "Traceback" not in result.output

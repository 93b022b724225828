"""`bonus revoke-client`, `rotate-key`, `revoke-key`: a client's keys and their rotation."""

from __future__ import annotations

from sqlalchemy import select

from bonus_service.app_db import get_db
from bonus_service.clock import utcnow
from bonus_service.models import ApiClient
from tests.support.http import bearer


def test_a_revoked_key_is_refused_from_then_on(client, make_key, bonus):
    key = make_key("checkout", name="site-2024")
    assert client.get("/v1/orders/T-1", headers=bearer(key, None)).status_code == 404

    result = bonus("revoke-client", "site-2024")

    assert result.exit_code == 0, result.output
    assert result.output.startswith("client 'site-2024' revoked at ")
    assert client.get("/v1/orders/T-1", headers=bearer(key, None)).status_code == 401


def test_the_other_clients_keys_keep_working(client, make_key, bonus):
    make_key("checkout", name="old")
    new = make_key("checkout", name="new")

    bonus("revoke-client", "old")

    assert client.get("/v1/orders/T-1", headers=bearer(new, None)).status_code == 404


def test_revoking_twice_keeps_the_first_revocation(make_key, bonus, db):
    make_key("operator", name="call-center")
    first = bonus("revoke-client", "call-center")
    with db.unit_of_work(write=False) as session:
        revoked_at = session.scalar(select(ApiClient.revoked_at))

    second = bonus("revoke-client", "call-center")

    assert second.exit_code == 0
    assert second.output == first.output
    assert revoked_at.isoformat() in second.output


def test_revoking_an_unknown_client_fails_naming_it(bonus):
    result = bonus("revoke-client", "ghost")

    assert result.exit_code == 1
    assert "no client named 'ghost'" in result.output


def test_creating_and_revoking_a_key_is_audited_and_listed_with_its_last_use(shop, bonus, db):
    """A key rotation asks which keys exist and whether the old one is still in use; the key
    changes themselves were in no audit trail."""
    from bonus_service.models import AuditEntry
    from tests.support.shop import pickup

    assert bonus("create-client", "till-7", "--scope", "checkout").exit_code == 0
    phone, _ = shop.guest()
    shop.complete(shop.place(phone, pickup("1000.00")).get_json()["id"])  # the shop's key moves
    assert bonus("revoke-client", "till-7").exit_code == 0
    with db.unit_of_work(write=False) as session:
        trail = session.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.target)
            .where(AuditEntry.action.like("client.%")).order_by(AuditEntry.id)
        ).all()  # fmt: skip
    assert [tuple(row) for row in trail] == [
        ("cli", "client.create", "till-7"), ("cli", "client.revoke", "till-7")]
    listed = {line.split("\t")[0]: line for line in bonus("list-clients").output.splitlines()}
    assert "checkout\tcreated " in listed["till-7"] and "\trevoked " in listed["till-7"]
    assert listed["till-7"].endswith("last moved bonuses never (UTC)")
    assert "\tactive\t" in listed["site"]  # the shop's checkout key moved bonuses
    assert "last moved bonuses never" not in listed["site"]


# --- issue 17: a client holds several keys, so a key rotates without a new client ----------


def rotate(bonus, name: str) -> str:
    """`bonus rotate-key NAME` → the new key (stdout holds the key alone)."""
    result = bonus("rotate-key", name)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def key_ids(bonus, name: str) -> dict[str, str]:
    """The client's keys as `bonus list-clients` shows them: key id → "active" / "revoked …"."""
    lines = bonus("list-clients").output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split("\t")[0] == name)
    keys = {}
    for line in lines[start + 1:]:
        if not line.startswith("  key "):
            break
        key_id, _created, state = line.removeprefix("  key ").split("\t")
        keys[key_id] = state
    return keys


def test_a_retry_sent_with_the_rotated_key_replays_the_first_answer(shop, bonus, db):
    """Idempotency-Keys belong to the client: the till that timed out on the old key and
    retries with the new one gets the first answer, and the order is placed once."""
    from bonus_service.models import Order
    from tests.support.http import bearer
    from tests.support.shop import pickup

    phone, _ = shop.guest()
    body = {"id": "WEB-1", "phone": phone, "order": pickup("1000.00"), "redeem": "0"}
    first = shop.client.post("/v1/orders", json=body, headers=bearer(shop.checkout, "retry-1"))
    assert first.status_code == 201
    new_key = rotate(bonus, "site")

    again = shop.client.post("/v1/orders", json=body, headers=bearer(new_key, "retry-1"))

    assert again.status_code == 201
    assert again.get_data() == first.get_data()
    with db.unit_of_work(write=False) as session:
        assert len(session.scalars(select(Order)).all()) == 1
    completed = shop.client.post("/v1/orders/WEB-1/complete", headers=bearer(new_key))
    assert completed.status_code == 200  # the order is the client's, whichever key placed it


def test_the_old_key_works_until_revoke_key_ends_it_and_the_new_one_goes_on(shop, bonus):
    from tests.support.http import bearer

    old = shop.checkout
    new = rotate(bonus, "site")
    keys = key_ids(bonus, "site")
    assert list(keys.values()) == ["active", "active"]
    old_id = next(iter(keys))  # the first key listed is the oldest
    for key in (old, new):
        assert shop.client.get("/v1/orders/T-1", headers=bearer(key, None)).status_code == 404

    result = bonus("revoke-key", "site", old_id)

    assert result.exit_code == 0, result.output
    assert f"key {old_id} of client 'site' revoked at " in result.output
    assert "1 live key left" in result.output
    assert shop.client.get("/v1/orders/T-1", headers=bearer(old, None)).status_code == 401
    assert shop.client.get("/v1/orders/T-1", headers=bearer(new, None)).status_code == 404
    assert key_ids(bonus, "site")[old_id].startswith("revoked ")


def test_a_key_id_is_the_start_of_the_keys_sha256(shop, bonus):
    """So an operator can tell which key a deployment holds: `printf %s KEY | sha256sum`."""
    import hashlib

    new = rotate(bonus, "site")
    assert hashlib.sha256(new.encode()).hexdigest()[:8] in key_ids(bonus, "site")
    assert hashlib.sha256(shop.checkout.encode()).hexdigest()[:8] in key_ids(bonus, "site")


def test_a_worker_refuses_a_key_revoked_elsewhere_within_ten_seconds(shop, bonus, monkeypatch):
    """A process remembers a valid key for KEY_CACHE_SECONDS: a key revoked by another
    process (here: the database changed behind this one) works until then, not after."""
    from sqlalchemy import update

    from bonus_service import auth
    from bonus_service.models import ApiKey
    from tests.support.http import bearer

    old = shop.checkout
    rotate(bonus, "site")
    clock = [1_000.0]
    monkeypatch.setattr(auth.time, "monotonic", lambda: clock[0])
    assert shop.client.get("/v1/orders/T-1", headers=bearer(old, None)).status_code == 404
    with get_db(shop.client.application).unit_of_work() as session:
        session.execute(
            update(ApiKey).where(ApiKey.key_hash == auth.digest(old)).values(revoked_at=utcnow())
        )
        session.commit()

    clock[0] += auth.KEY_CACHE_SECONDS - 1
    assert shop.client.get("/v1/orders/T-1", headers=bearer(old, None)).status_code == 404
    clock[0] += 2
    assert shop.client.get("/v1/orders/T-1", headers=bearer(old, None)).status_code == 401


def test_rotating_and_revoking_keys_is_audited(shop, bonus, db):
    from bonus_service.models import AuditEntry

    rotate(bonus, "site")
    old_id = next(iter(key_ids(bonus, "site")))
    assert bonus("revoke-key", "site", old_id).exit_code == 0
    with db.unit_of_work(write=False) as session:
        trail = session.execute(
            select(AuditEntry.action, AuditEntry.target, AuditEntry.details)
            .where(AuditEntry.action.like("client.%")).order_by(AuditEntry.id)
        ).all()  # fmt: skip
    assert [row[:2] for row in trail] == [("client.rotate_key", "site"),
                                          ("client.revoke_key", "site")]  # fmt: skip
    assert trail[1][2] == {"key_id": old_id}


def test_a_revoked_client_gets_no_new_key(make_key, bonus):
    make_key("checkout", name="old-till")
    bonus("revoke-client", "old-till")

    result = bonus("rotate-key", "old-till")

    assert result.exit_code == 1
    assert "was revoked at" in result.output


def test_revoke_key_names_what_it_cannot_find(make_key, bonus):
    make_key("checkout", name="site")

    assert bonus("revoke-key", "ghost", "0123abcd").exit_code == 1
    missing = bonus("revoke-key", "site", "0123abcd")
    assert (missing.exit_code, "client 'site' has no key 0123abcd" in missing.output) == (1, True)
    malformed = bonus("revoke-key", "site", "bk_secret")
    assert malformed.exit_code == 2
    assert "8 hex digits" in malformed.output

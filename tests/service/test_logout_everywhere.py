"""A guest logs out everywhere: every token of theirs ends, the one used too."""

from datetime import timedelta

from freezegun import freeze_time

from bonus_service.clock import utcnow
from tests.support.http import login
from tests.support.shop import pickup


def test_logging_out_everywhere_ends_every_token_of_the_guest(shop):
    phone, first = shop.guest("100")
    with freeze_time(utcnow() + timedelta(minutes=2)):  # past the resend wait
        second = login(shop.client, shop.fake, phone)
    _, someone_else = shop.guest("10")
    out = shop.client.post("/v1/me/logout-everywhere",
                           headers={"Authorization": f"Bearer {second}"})  # fmt: skip
    assert out.status_code == 204
    for token in (first, second):
        answer = shop.client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401
        assert shop.place(phone, pickup("400.00"), redeem="10", token=token).status_code == 403
    assert shop.me(someone_else)["balance"] == "10.00"
    anonymous = shop.client.post("/v1/me/logout-everywhere")
    assert anonymous.status_code == 401


def test_the_spec_documents_logging_out_everywhere(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    logout = paths["/v1/me/logout-everywhere"]["post"]
    assert "204" in logout["responses"] and logout["security"] == [{"guestToken": []}]

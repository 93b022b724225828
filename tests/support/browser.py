"""What the browser tests do and check on a page: log in, fit a phone, label inputs, screenshots."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
PHONE_SIZE = {"width": 360, "height": 780}
DESKTOP_SIZE = {"width": 1280, "height": 900}


def screenshots(page, name: str) -> None:
    """Save the whole page at 360 px and at desktop width, then go back to 360 px."""
    SCREENSHOTS.mkdir(exist_ok=True)
    for label, size in (("360", PHONE_SIZE), ("desktop", DESKTOP_SIZE)):
        page.set_viewport_size(size)
        page.screenshot(path=SCREENSHOTS / f"{name}-{label}.png", full_page=True)
    page.set_viewport_size(PHONE_SIZE)


def assert_fits_a_phone(page) -> None:
    """Nothing sticks out sideways at 360 px: no horizontal scrolling."""
    page.set_viewport_size(PHONE_SIZE)
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page is {overflow} px wider than a 360 px screen"


def assert_every_input_is_labelled(page) -> None:
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('input:not([type=hidden]), textarea, select')]
             .filter(field => field.labels.length === 0).map(field => field.name)"""
    )
    assert unlabelled == [], f"inputs without a <label>: {unlabelled}"


def typed_like_a_person(phone: str) -> str:
    """+79120001002 → '8 (912) 000-10-02', the way people write it here."""
    digits = phone.removeprefix("+7")
    return f"8 ({digits[:3]}) {digits[3:6]}-{digits[6:8]}-{digits[8:]}"


def log_in_to_the_cabinet(page, fake_twilio, phone: str) -> None:
    """The guest's two steps: the phone, then the code the fake Twilio received."""
    page.get_by_label("Номер мобильного телефона").fill(typed_like_a_person(phone))
    page.get_by_role("button", name="Получить код").click()
    page.get_by_label("Код из СМС").fill(fake_twilio.last_code(phone))
    page.get_by_role("button", name="Войти").click()


def log_in_to_the_console(page, name: str, password: str) -> None:
    """Sign in on the console's login page (already open) as a person would: name, password,
    the button."""
    page.get_by_label("Имя оператора").fill(name)
    page.get_by_label("Пароль").fill(password)
    page.get_by_role("button", name="Войти").click()


def why_no_browser(chromium: Path) -> str | None:
    """Why the browser tests cannot run on this machine, or None when they can."""
    if not chromium.exists():
        return f"{chromium} is missing: apt-get install chromium"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is missing: pip install -e '.[test]'"
    return None

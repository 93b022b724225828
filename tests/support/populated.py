"""The populated shop the adversarial tests attack: two guests with fixed phones (so generated
requests can name them) and an order of each status, and what an attack may never do to it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from bonus_service.app_db import get_db
from bonus_service.models import Base
from tests.support.shop import Shop

RICH = "+79160000001"  # 580 bonuses (500 given, 80 earned by P-done), 50 held by P-placed
POOR = "+79160000002"  # nothing
ORDERS = ("P-placed", "P-done", "P-gone")  # placed, completed, cancelled


@dataclass
class Populated:
    """The shop, its two guests and their login tokens."""

    shop: Shop
    rich_token: str
    poor_token: str


def table_sizes(app) -> dict[str, int]:
    """Row count of every table: an attack may add rows as data, never remove any."""
    with get_db(app).unit_of_work(write=False) as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table))
            for table in Base.metadata.sorted_tables
        }

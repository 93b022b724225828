"""The bonus program as versioned data, and the pure functions that apply it to an order."""

from rules.book import ProgramBook, load_book
from rules.decision import Decision, Explanation, GuestState
from rules.errors import AmountError, OrderError, ProgramError
from rules.evaluate import evaluate
from rules.expiry import burns_at, idle_cutoff
from rules.load import load_program
from rules.money import parse_amount
from rules.order import Item, Order
from rules.order_parser import parse_order
from rules.program import Program
from rules.text import render_text

__all__ = [
    "AmountError", "Decision", "Explanation", "GuestState", "Item", "Order", "OrderError",
    "Program", "ProgramBook", "ProgramError", "burns_at", "evaluate", "idle_cutoff",
    "load_book", "load_program", "parse_amount", "parse_order", "render_text",
]

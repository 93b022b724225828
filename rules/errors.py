"""The two ways input is refused: a bad order from a client, a bad program file from us."""


class OrderError(ValueError):
    """An order (or an amount) a client sent that cannot be served; `errors` maps path to reason."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        told = (f"{path or 'order'}: {reason}" for path, reason in self.errors.items())
        super().__init__("; ".join(told))


class AmountError(OrderError):
    """One money amount that is not roubles with at most two places."""

    def __init__(self, field: str, reason: str):
        self.field = field
        self.reason = reason
        super().__init__({field: reason})


class ProgramError(ValueError):
    """A program file (or book) that must not be loaded; names the file, field and reason."""

    def __init__(self, path: str, reason: str, source: str = ""):
        self.path = path
        self.reason = reason
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{path}: {reason}" if path else f"{where}{reason}")

    def in_file(self, source: str) -> "ProgramError":
        """The same refusal, told with the file it came from."""
        return ProgramError(self.path, self.reason, source)

"""What a check or an import found: each row's outcome (new, update, unchanged, duplicate, error,
with its messages by column) and the file's result (rows, whole-file error, notes)."""

from dataclasses import dataclass, field

NEW, UPDATE, UNCHANGED, DUPLICATE, ERROR = "new", "update", "unchanged", "duplicate", "error"
ACTIONS = (NEW, UPDATE, UNCHANGED, DUPLICATE, ERROR)


@dataclass
class RowOutcome:
    number: int
    action: str = NEW
    label: str = ""
    note: str = ""  # which existing student or earlier row this row is (R12)
    changes: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    sheet: str = ""  # the worksheet, when a file's rows come from several

    def error(self, column: str, message: str) -> None:
        self.errors.append((column, str(message)))
        self.action = ERROR

    @property
    def where(self) -> str:
        """The row as a person finds it: its number, and its worksheet when there are several."""
        return f"{self.number} ({self.sheet})" if self.sheet else str(self.number)

    def as_json(self) -> dict:
        data = {"n": self.number, "a": self.action, "l": self.label}
        if self.sheet:
            data["s"] = self.sheet
        if self.note:
            data["m"] = self.note
        if self.changes:
            data["c"] = self.changes
        if self.errors:
            data["e"] = [list(issue) for issue in self.errors]
        return data


@dataclass
class ImportResult:
    """What a check or an import found: counts, per-row outcomes, and any whole-file error."""

    rows: list[RowOutcome] = field(default_factory=list)
    file_error: str = ""
    ignored_columns: list[str] = field(default_factory=list)
    applied: bool = False
    blank_rows: int = 0
    notes: list[str] = field(default_factory=list)  # what the file holds that is not imported, said once

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def counts(self) -> dict[str, int]:
        tally = dict.fromkeys(ACTIONS, 0)
        for row in self.rows:
            tally[row.action] += 1
        return tally

    @property
    def ok(self) -> bool:
        return not self.file_error and not any(row.action == ERROR for row in self.rows)

    def issues(self) -> list[tuple[int, str, str]]:
        return [(row.number, column, message) for row in self.rows for column, message in row.errors]

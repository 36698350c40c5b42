"""Report: the table of findings and list of problems every diagnostic returns (`print(report)` shows both)."""
from dataclasses import dataclass, field


@dataclass
class Report:
    """Rows of findings with a list of human-readable problems; `print(report)` shows both."""

    rows: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    title: str = "diagnostics"
    sections: dict = field(default_factory=dict)  # sub-reports by name (check_model fills it)

    @property
    def healthy(self):
        return not self.problems

    def __str__(self):
        lines = [self.title]
        if self.rows:
            keys = list(self.rows[0])
            widths = {k: max(len(k), *(len(_fmt(r.get(k))) for r in self.rows)) for k in keys}
            lines.append("  ".join(k.ljust(widths[k]) for k in keys))
            for row in self.rows:
                lines.append("  ".join(_fmt(row.get(k)).ljust(widths[k]) for k in keys))
        lines += [f"problem: {p}" for p in self.problems] or ["no problems found"]
        return "\n".join(lines)


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.3e}"
    return str(value)

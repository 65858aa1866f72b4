"""One error type for every loader that collects all the problems of an input before failing.

Configs, catalogs, shows, scripts and language data report every problem at once, each naming
the key (or line) and what is wrong, so a user fixes a file in one pass instead of one error per
run.
"""

from __future__ import annotations


class ProblemsError(ValueError):
    """Every problem found in one input. ``source`` names the input (a file path, "dict"...),
    ``problems`` holds one message per problem; ``what`` says what kind of input it was."""

    what = "input"

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = list(problems)
        n = len(self.problems)
        body = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{source}: {n} problem{'s' if n != 1 else ''} in {self.what}:\n{body}")


class ConfigError(ProblemsError):
    """All problems found in one config (or a file it names, such as the latency budget);
    each names the key, the bad value and what is allowed."""

    what = "config"

    def __init__(self, problems: list[str], source: str = "config") -> None:
        super().__init__(source, problems)

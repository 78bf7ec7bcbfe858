"""The anatomy of a rule: metadata, options, self-tests (Fixit's VALID/INVALID) and check()."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from greenlint.diagnostics import IMPACTS, Applicability

if TYPE_CHECKING:
    from greenlint.engine import Context

@dataclass(frozen=True)
class Option:
    """A rule option settable under [tool.greenlint.rules.<code or name>]."""

    type: type
    default: Any
    doc: str
    item_type: type | None = None  # for list options


# Energy rules skip test files by default: a model run once in a test wastes little, and tests
# exercise smells on purpose. The engine applies it to every rule that declares the option.
INCLUDE_TESTS = Option(bool, False, "Also check test files (test_*.py, *_test.py, conftest.py, files under tests/)")


@dataclass(frozen=True)
class Valid:
    """Code the rule must stay silent on."""

    code: str
    options: dict[str, Any] = field(default_factory=dict)
    why: str = ""
    filename: str = "example.py"

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", textwrap.dedent(self.code).lstrip("\n"))


@dataclass(frozen=True)
class Invalid:
    """Code the rule must flag, `count` times, and what its fix must turn it into.

    `fixed` is the exact source after applying every fix (unsafe ones too); None means the
    finding must offer no applicable fix. `applicability` is the fix class every finding here
    must carry.
    """

    code: str
    fixed: str | None = None
    count: int = 1
    applicability: Applicability | None = None
    changes_numerics: bool | None = None  # checked on every finding's fix when given
    message: str | None = None  # a substring every message must contain
    options: dict[str, Any] = field(default_factory=dict)
    filename: str = "example.py"

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", textwrap.dedent(self.code).lstrip("\n"))
        if self.fixed is not None:
            object.__setattr__(self, "fixed", textwrap.dedent(self.fixed).lstrip("\n"))


class Rule:
    """Subclass, set the class attributes, implement check(), register with @register."""

    code: ClassVar[str]
    name: ClassVar[str]  # kebab-case, reads as the smell: "inference-without-no-grad"
    summary: ClassVar[str]  # one line for `greenlint rules`
    impact: ClassVar[str]  # high / medium / low, from the rule's evidence
    # One line of measured evidence with its provenance, shown with each finding; the
    # catalogue entry has the full story and sources.
    evidence: ClassVar[str] = ""
    # Module names one of which must appear in a file's text for the rule to apply: the cheap
    # pre-filter that skips parsing files no enabled rule could fire on.
    frameworks: ClassVar[tuple[str, ...]] = ("torch",)
    # Words one of which every text the rule fires on contains (a call it keys on, say): a rule
    # whose words are all absent skips the file. Empty: no such word.
    requires: ClassVar[tuple[str, ...]] = ()
    # The best fix class the rule can offer (None: never fixes).
    fix_applicability: ClassVar[Applicability | None] = None
    options: ClassVar[dict[str, Option]] = {}
    # Housekeeping rules (GL0xx) judge the other rules' findings: they run after them, and have
    # no energy workload for `greenlint verify` to measure.
    runs_last: ClassVar[bool] = False
    VALID: ClassVar[list[Valid]] = []
    INVALID: ClassVar[list[Invalid]] = []

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        merged = {key: opt.default for key, opt in self.options.items()}
        merged.update(options or {})
        self.settings = merged

    @classmethod
    def could_fire(cls, text: str, seen: dict[str, bool] | None = None) -> bool:
        """The cheap text pre-filter: False only when the rule cannot fire on this text (by
        default, when it names none of the rule's `frameworks` or none of its `requires`).
        `seen` remembers, for one text, which words are in it: rules share words ("torch")."""
        if seen is None:
            seen = {}
        return _any_in(cls.frameworks, text, seen) and (not cls.requires or _any_in(cls.requires, text, seen))

    def check(self, ctx: Context) -> None:
        raise NotImplementedError


def _any_in(words: tuple[str, ...], text: str, seen: dict[str, bool]) -> bool:
    for word in words:
        found = seen.get(word)
        if found is None:
            found = seen[word] = word in text
        if found:
            return True
    return False


_REGISTRY: dict[str, type[Rule]] = {}


def register(cls: type[Rule]) -> type[Rule]:
    for attr in ("code", "name", "summary", "impact"):
        if not getattr(cls, attr, None):
            raise TypeError(f"{cls.__name__} lacks {attr}")
    if cls.impact not in IMPACTS:
        raise TypeError(f"{cls.code}: impact must be one of {IMPACTS}")
    if cls.code in _REGISTRY:
        raise TypeError(f"{cls.code} registered twice")
    _REGISTRY[cls.code] = cls
    return cls


def all_rules() -> list[type[Rule]]:
    """Every registered rule, sorted by code."""
    from greenlint.rules import catalog  # noqa: F401  (importing it registers the rules)

    return [_REGISTRY[code] for code in sorted(_REGISTRY)]


def rule_by_selector(selector: str) -> type[Rule] | None:
    """The rule with this exact code or name, if any."""
    for rule in all_rules():
        if selector in (rule.code, rule.name):
            return rule
    return None


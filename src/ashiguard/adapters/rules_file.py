"""Read a clinic's screening rules file (``ashiguard.rules/1`` TOML) from disk."""

from __future__ import annotations

from pathlib import Path

from ashiguard.domain.errors import InputError
from ashiguard.domain.screening import RuleSet, default_rules, parse_rules

__all__ = ["load_rules"]


def load_rules(path: str | Path, base: RuleSet | None = None) -> RuleSet:
    """Load a clinic rules file on top of ``base`` (the default rule set when None).

    Raises
    ------
    InputError
        ``rules file NAME: ...`` when the file cannot be read or a rule is wrong or looser than
        the rule it overrides.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise InputError(f"rules file {p.name}: cannot read: {why}") from None
    return parse_rules(text, p.name, base=base if base is not None else default_rules())

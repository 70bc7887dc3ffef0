"""The request's database session is committed before its response is sent.

A page or API answer that reports success must mean what it did is stored: when the final
commit fails (the database went away at that moment) the user gets the 503 with its
``Retry-After``, never a 200 whose change, or whose audited read's entry, was lost.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from webhelpers import login, make_client


@pytest.fixture()
def failing_commits(monkeypatch: pytest.MonkeyPatch) -> dict[str, bool]:
    """While ``on`` is set, every commit fails as a database that went away would."""
    state = {"on": False}
    commit = Session.commit

    def flaky(self: Session) -> None:
        if state["on"]:
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))
        commit(self)

    monkeypatch.setattr(Session, "commit", flaky)
    return state


@pytest.mark.parametrize("path", ["/clients", "/api/v1/clients"])
def test_a_commit_that_fails_after_the_handler_answers_503_not_200(
    app: Any, failing_commits: dict[str, bool], path: str
) -> None:
    with make_client(app) as c:
        assert login(c, "therapist").status_code == 303
        assert c.get(path).status_code == 200  # an audited read: its entry is committed
        failing_commits["on"] = True
        r = c.get(path)
        failing_commits["on"] = False
        assert r.status_code == 503, (path, r.status_code)
        assert r.headers["retry-after"]
        assert c.get(path).status_code == 200  # the database is back: so is the page

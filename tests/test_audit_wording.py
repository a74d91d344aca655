"""Every action certdesk records reads in words on the audit page (issue 16).

The action strings are found in the code itself, as the review did (``grep 'action="'``): each
string literal shaped like ``family.name`` whose family is one that an ``action="..."`` keyword
uses, anywhere under certificates/ (services, signal receivers, the middleware, the admin,
migrations). An action added without a wording fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from certificates.audit_wording import ACTION_WORDS, action_words, actions_matching_words

PACKAGE = Path(__file__).resolve().parents[1] / "certificates"
SHAPE = re.compile(r"^[a-z][a-z_]*\.[a-z_]+$")


def _trees() -> list[ast.Module]:
    return [ast.parse(path.read_text(encoding="utf-8")) for path in PACKAGE.rglob("*.py")]


def recorded_actions() -> set[str]:
    trees = _trees()
    families = {
        node.value.value.split(".")[0]
        for tree in trees
        for node in ast.walk(tree)
        if isinstance(node, ast.keyword)
        and node.arg == "action"
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        and SHAPE.match(node.value.value)
    }
    return {
        node.value
        for tree in trees
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and SHAPE.match(node.value)
        and node.value.split(".")[0] in families
    }


def test_the_scan_finds_the_actions_people_asked_about() -> None:
    """The scan itself works: it finds literal keywords, strings passed through a helper
    (allauth's account events) and the migration's event."""
    found = recorded_actions()
    for action in (
        "key.exported",
        "request.sent_to_tam",
        "account.password_changed",
        "account.second_factor_added",
        "audit.rehashed",
        "certificate.list_exported",
        "audit.exported",
    ):
        assert action in found, action
    assert "certdesk.audit" not in found  # a logger's name, not an action


def test_every_action_in_the_code_has_a_wording() -> None:
    missing = sorted(recorded_actions() - set(ACTION_WORDS))
    assert missing == [], f"actions without words in certificates/audit_wording.py: {missing}"


def test_wordings_are_sentences_and_unique() -> None:
    for action, words in ACTION_WORDS.items():
        assert words[0].isupper(), action
        assert not words.endswith("."), action
    assert len(set(ACTION_WORDS.values())) == len(ACTION_WORDS)


@pytest.mark.parametrize(
    ("action", "words"),
    [
        ("key.exported", "Private key downloaded"),
        ("account.password_changed", "Password changed"),
        ("request.some_old_thing", "Request: some old thing"),
        ("oddity", "Oddity"),
    ],
)
def test_actions_read_in_words_known_or_not(action: str, words: str) -> None:
    assert action_words(action) == words


def test_the_words_lead_back_to_the_code() -> None:
    assert actions_matching_words("  private KEY   downloaded ") == ["key.exported"]
    assert actions_matching_words("nothing like it") == []

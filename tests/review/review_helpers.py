"""Helpers the review tests share: small content items, users, a cheap password hasher."""

from __future__ import annotations

from argon2 import PasswordHasher

from cre_advisor.review.accounts import Accounts, Actor
from cre_advisor.review.content import ContentItem, make_item
from cre_advisor.review.store import ReviewStore
from cre_advisor.review.workflow import Role

# Minimal argon2 cost: the tests check the workflow, not the hash's strength.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "plum kettle orbit 47 granite"


def statement(item_id: str, text: str) -> ContentItem:
    """A small content item; tests change `text` to make a new version."""
    return make_item(item_id, "statement", {"id": item_id, "kind": "warning", "text": {"clinician": text},
                                            "citations": ["idsa-2024"]}, "2026-11-24")


def catalogue(*items: ContentItem) -> dict[str, ContentItem]:
    return {item.id: item for item in items}


def actor(store: ReviewStore, accounts: Accounts, name: str, role: Role) -> Actor:
    with store.writing() as session:
        return accounts.add_user(session, name, role.value, PASSWORD)

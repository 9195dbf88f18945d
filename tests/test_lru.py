"""LruDict: the bounded mapping every memo uses (so memory stays flat however many patients come)."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cre_advisor import microbiology
from cre_advisor.knowledge.loader import MEMO_SIZE, Knowledge, KNOWLEDGE_DIR
from cre_advisor.lru import LruDict


def test_the_least_recently_used_entry_goes_first() -> None:
    memo: LruDict[str, int] = LruDict(2)
    memo["a"], memo["b"] = 1, 2
    assert memo.get("a") == 1  # "a" is now newer than "b"
    memo["c"] = 3
    assert dict(memo.items()) == {"a": 1, "c": 3}
    assert "b" not in memo and memo.get("b") is None


@given(st.lists(st.integers(0, 50), max_size=300), st.integers(1, 20))
def test_never_more_than_maxsize_and_the_newest_are_kept(keys: list[int], size: int) -> None:
    memo: LruDict[int, int] = LruDict(size)
    for key in keys:
        memo[key] = key
    assert len(memo) <= size
    newest = list(dict.fromkeys(reversed(keys)))[:size]
    assert set(memo) == set(newest)


def test_a_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        LruDict(0)


def test_threads_sharing_a_memo_keep_it_bounded() -> None:
    memo: LruDict[tuple[int, int], int] = LruDict(64)

    def fill(n: int) -> None:
        for i in range(2000):
            memo[(n, i)] = i
            memo.get((n, i - 1))

    threads = [threading.Thread(target=fill, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(memo) == 64


def test_every_knowledge_memo_and_the_microbiology_memo_are_bounded() -> None:
    knowledge = Knowledge(KNOWLEDGE_DIR)
    memo = knowledge.memos["any.memo"]
    assert isinstance(memo, LruDict) and memo.maxsize == MEMO_SIZE
    assert isinstance(microbiology._ENTRIES, LruDict)

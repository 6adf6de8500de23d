"""NULL, sets, files, futures and opaque tagged values (surreal_proto._values)."""

from __future__ import annotations

import copy
import pickle

import pytest

from surreal_proto import NULL, File, Future, NullType, SurrealSet, Tagged


def test_null() -> None:
    assert NullType() is NULL
    assert repr(NULL) == "NULL"
    assert not NULL
    assert NULL is not None
    assert NULL != None  # noqa: E711
    assert pickle.loads(pickle.dumps(NULL)) is NULL
    assert copy.copy(NULL) is NULL
    assert copy.deepcopy([NULL])[0] is NULL
    assert hash(NULL) == hash(NULL)


def test_tagged() -> None:
    t = Tagged(1000, [1, {"a": 2}])
    assert (t.tag, t.value) == (1000, [1, {"a": 2}])
    assert t == Tagged(1000, [1, {"a": 2}])
    assert t != Tagged(1001, [1, {"a": 2}])
    assert t != Tagged(1000, [1])
    assert t != 1000
    assert hash(t) == hash(Tagged(1000, [1, {"a": 2}]))
    assert repr(t) == "Tagged(1000, [1, {'a': 2}])"
    assert pickle.loads(pickle.dumps(t)) == t
    for bad in (-1, 2**64, True, "1"):
        with pytest.raises(ValueError, match="CBOR tag number"):
            Tagged(bad, None)  # type: ignore[arg-type]
    assert Tagged(2**64 - 1, None).tag == 2**64 - 1
    with pytest.raises(AttributeError):
        t.tag = 1
    with pytest.raises(AttributeError):
        del t.value
    match t:
        case Tagged(tag, value):
            assert tag == 1000
            assert value == [1, {"a": 2}]


def test_surreal_set() -> None:
    s = SurrealSet([1, {"a": 1}, 1])
    assert s.items == (1, {"a": 1}, 1)
    assert list(s) == [1, {"a": 1}, 1]
    assert len(s) == 3
    assert {"a": 1} in s
    assert 2 not in s
    # compared as the server compares sets: order and repetition do not matter
    assert s == SurrealSet([{"a": 1}, 1])
    assert hash(s) == hash(SurrealSet([{"a": 1}, 1]))
    assert s != SurrealSet([1])
    assert s != SurrealSet([1, {"a": 2}])
    assert SurrealSet([1, 2]) != SurrealSet([1, 3])
    assert s != [1, {"a": 1}]
    assert SurrealSet() == SurrealSet(set())
    assert SurrealSet({3}) == SurrealSet([3])
    assert repr(SurrealSet([1, 2])) == "SurrealSet([1, 2])"
    assert pickle.loads(pickle.dumps(s)) == s
    with pytest.raises(AttributeError):
        s.items = ()
    with pytest.raises(AttributeError):
        del s.items
    match s:
        case SurrealSet(items):
            assert items[0] == 1


def test_file() -> None:
    f = File("bucket", "/a/b.txt")
    assert (f.bucket, f.key) == ("bucket", "/a/b.txt")
    assert f == File("bucket", "/a/b.txt")
    assert f != File("bucket", "/a/c.txt")
    assert f != File("other", "/a/b.txt")
    assert f != "bucket:/a/b.txt"
    assert hash(f) == hash(File("bucket", "/a/b.txt"))
    assert repr(f) == "File('bucket', '/a/b.txt')"
    assert str(f) == 'f"bucket:/a/b.txt"'
    assert str(File('b"x', "k")) == 'f"b\\"x:k"'
    assert pickle.loads(pickle.dumps(f)) == f
    with pytest.raises(TypeError):
        File("b", 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        File(1, "k")  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        f.key = "x"
    with pytest.raises(AttributeError):
        del f.bucket
    match f:
        case File(bucket, key):
            assert (bucket, key) == ("bucket", "/a/b.txt")


def test_future() -> None:
    f = Future("{ time::now() }")
    assert f.body == "{ time::now() }"
    assert f == Future("{ time::now() }")
    assert f != Future("{ 1 }")
    assert f != "{ time::now() }"
    assert hash(f) == hash(Future("{ time::now() }"))
    assert repr(f) == "Future('{ time::now() }')"
    assert pickle.loads(pickle.dumps(f)) == f
    with pytest.raises(TypeError):
        Future(1)  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        f.body = "x"
    with pytest.raises(AttributeError):
        del f.body
    match f:
        case Future(body):
            assert body == "{ time::now() }"

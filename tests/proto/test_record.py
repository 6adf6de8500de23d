"""Events and client events behave as frozen, slotted, keyword-only dataclasses do."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from typing import Any
from uuid import UUID

import pytest

from surreal_proto import (
    CallSucceeded,
    ClientState,
    ConnectionClosed,
    ConnectionClosedError,
    Event,
    LocalProtocolError,
    OpenLink,
    PendingRequest,
    ReconnectPolicy,
    RequestTimedOut,
    ResponseReceived,
    StateChanged,
)

SESSION = UUID(int=7)


def _sample() -> list[Any]:
    pending = PendingRequest(request_id=1, method="signin", params=("secret",), session=SESSION)
    return [
        pending,
        ResponseReceived(request_id=2, method="query", result=[1], params=("secret",)),
        ConnectionClosed(code=1006, error=ConnectionClosedError("lost"), unanswered=(pending,)),
        OpenLink(link_id=3, transport="ws", host="db", port=8000),
        StateChanged(old=ClientState.IDLE, new=ClientState.CONNECTING),
        ReconnectPolicy(attempts=3),
    ]


def test_fields_are_keyword_only_with_their_defaults() -> None:
    with pytest.raises(TypeError):
        PendingRequest(1, "ping", ())  # type: ignore[call-arg]
    pending = PendingRequest(request_id=1, method="ping", params=())
    assert (pending.session, pending.txn, pending.sent) == (None, None, True)
    assert OpenLink(link_id=1, transport="embedded").host == ""


def test_repr_shows_fields_in_order_but_never_params() -> None:
    pending = PendingRequest(request_id=1, method="signin", params=({"pass": "hunter2"},))
    assert repr(pending) == ("PendingRequest(request_id=1, method='signin', session=None, "
                             "txn=None, sent=True)")
    response = ResponseReceived(request_id=1, method="signin", result="tok",
                                params=({"pass": "hunter2"},))
    assert "hunter2" not in repr(response)
    assert repr(Event()) == "Event()"


def test_equality_and_hash_follow_the_compared_fields() -> None:
    a = RequestTimedOut(request_id=1, method="query", timeout=1.0)
    b = RequestTimedOut(request_id=1, method="query", timeout=None)
    assert a == b  # timeout is kept out of ==
    assert hash(a) == hash(b)
    assert a != RequestTimedOut(request_id=2, method="query")
    assert ResponseReceived(request_id=1, method="q", result=1, params=(1,)) == \
        ResponseReceived(request_id=1, method="q", result=1, params=(2,))
    # params of a pending request are compared: a different call is a different snapshot
    assert PendingRequest(request_id=1, method="q", params=(1,)) != \
        PendingRequest(request_id=1, method="q", params=(2,))
    assert a != "RequestTimedOut"
    assert Event() == Event()
    with pytest.raises(TypeError, match="unhashable"):
        hash(ResponseReceived(request_id=1, method="q", result=[1]))


def test_records_are_frozen_and_slotted() -> None:
    pending = PendingRequest(request_id=1, method="q", params=())
    with pytest.raises(dataclasses.FrozenInstanceError):
        pending.method = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del pending.method
    assert not hasattr(pending, "__dict__")
    assert pending.method == "q"


@pytest.mark.parametrize("value", _sample(), ids=lambda v: type(v).__name__)
def test_pickle_and_copy_give_an_equal_record(value: Any) -> None:
    for clone in (pickle.loads(pickle.dumps(value)), copy.copy(value), copy.deepcopy(value)):
        assert type(clone) is type(value)
        assert repr(clone) == repr(value)
        assert [getattr(clone, f.name) is not None for f in dataclasses.fields(value)] == \
            [getattr(value, f.name) is not None for f in dataclasses.fields(value)]


def test_the_dataclass_functions_work() -> None:
    response = ResponseReceived(request_id=2, method="query", result=[1], params=("x",))
    assert dataclasses.is_dataclass(response)
    assert dataclasses.is_dataclass(ResponseReceived)
    fields = dataclasses.fields(response)
    assert [(f.name, f.repr, f.compare, f.kw_only) for f in fields] == [
        ("request_id", True, True, True), ("method", True, True, True),
        ("result", True, True, True), ("session", True, True, True),
        ("params", False, False, True)]
    assert fields[3].default is None
    assert fields[0].default is dataclasses.MISSING
    changed = dataclasses.replace(response, method="select")
    assert (changed.method, changed.params, changed.result) == ("select", ("x",), [1])
    assert dataclasses.asdict(CallSucceeded(call_id=1, value={"a": 1})) == \
        {"call_id": 1, "value": {"a": 1}}
    closed = ConnectionClosed(code=1000)
    assert dataclasses.astuple(closed) == (1000, "", None, ())
    assert dataclasses.fields(Event) == ()
    assert ResponseReceived.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert getattr(ResponseReceived, "__match_args__") == ()  # noqa: B009


def test_a_subclass_gets_its_own_field_table() -> None:
    # Asking the base first must not hand its (empty) table to the subclasses.
    assert dataclasses.fields(Event) == ()
    names = [f.name for f in dataclasses.fields(ConnectionClosed)]
    assert names == ["code", "reason", "error", "unanswered"]


def test_reconnect_policy_validates_on_every_construction() -> None:
    policy = ReconnectPolicy()
    assert (policy.attempts, policy.initial_delay, policy.max_delay, policy.multiplier,
            policy.jitter) == (10, 0.1, 10.0, 2.0, 0.2)
    with pytest.raises(LocalProtocolError, match="attempts"):
        dataclasses.replace(policy, attempts=0)
    with pytest.raises(LocalProtocolError, match="jitter"):
        ReconnectPolicy(jitter=2)

"""The vocabulary shared with supervisord: its values are supervisor's own."""

from __future__ import annotations

from supervisor.states import ProcessStates
from supervisor.xmlrpc import Faults

from djsupervisor import protocol


def test_fault_codes_are_supervisors() -> None:
    assert protocol.UNKNOWN_METHOD == Faults.UNKNOWN_METHOD
    assert protocol.SHUTDOWN_STATE == Faults.SHUTDOWN_STATE
    assert protocol.BAD_NAME == Faults.BAD_NAME


def test_state_names_are_supervisors_and_each_is_up_or_down() -> None:
    names = {name for name in vars(ProcessStates) if not name.startswith("_")}
    assert names == protocol.UP | protocol.DOWN
    assert not protocol.UP & protocol.DOWN


def test_a_record_is_read_back_whole_and_a_partial_one_waits() -> None:
    data = protocol.record(protocol.STDERR, "wörker", b"\xff\n", 12.5)
    assert list(protocol.records(data + data[:-1])) == [
        (12.5, protocol.STDERR, "wörker", b"\xff\n")
    ]
    assert protocol.whole_length(data + data[:-1]) == len(data)

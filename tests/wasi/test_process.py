"""args, environ, clocks, random, sched_yield, proc_raise and proc_exit (process.c)."""

from __future__ import annotations

import pytest
from tests.wasi.harness import compile_c, run_wasmbox

from wasmbox.errors import Trap
from wasmbox.wasi.abi import ERRNO


def test_arguments_environment_and_exit_status() -> None:
    outcome = run_wasmbox(compile_c("process"), ["7", "two words"], env={"GREETING": "héllo"})
    assert outcome.status == 7
    lines = outcome.stdout.splitlines()
    assert "argc=3 argv_bytes=25" in lines  # "process.wasm\0" "7\0" "two words\0"
    assert lines[2:5] == ["argv[0]=process.wasm", "argv[1]=7", "argv[2]=two words"]
    assert "envc=1 env_bytes=16" in lines  # "GREETING=héllo\0" in UTF-8
    assert "GREETING=héllo" in lines and "HOME=(unset)" in lines  # only what the host granted


def test_clocks_random_and_scheduling() -> None:
    values = run_wasmbox(compile_c("process"), ["0"]).values()
    stdout = run_wasmbox(compile_c("process"), ["0"]).stdout
    for clock in range(4):
        assert f"clock_res_get[{clock}]=0 positive=1" in stdout
        assert f"clock_time_get[{clock}]=0,0 nondecreasing=1" in stdout
    assert "realtime_after_2020=1" in stdout and "random_differs=1" in stdout
    assert values["clock_res_get_bad"] == values["clock_time_get_bad"] == ERRNO["inval"]
    assert values["random_get"] == values["random_get_empty"] == values["sched_yield"] == 0
    assert values["proc_raise_none"] == 0 and values["proc_raise_bad"] == ERRNO["inval"]
    assert values["proc_raise_pipe"] == 0  # the witx: SIGPIPE's action is "Ignored"


def test_a_raised_signal_ends_the_guest_as_a_trap() -> None:
    with pytest.raises(Trap, match="SIGABRT"):
        run_wasmbox(compile_c("process"), ["0", "raise"])

"""mailcore.politeness: retry delays with jitter, the per-host limit setting, advisory-lock keys."""

import subprocess
import sys
from pathlib import Path

import pytest

from mailcore import politeness

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("attempt", [1, 2, 3, 8, 50])
def test_retry_delays_grow_and_stay_within_half_to_all_of_their_ceiling(attempt):
    ceiling = min(politeness.RETRY_CAP, politeness.RETRY_BASE * 2 ** (attempt - 1))
    assert politeness.retry_delay(attempt, rand=lambda: 0.0) == round(ceiling / 2)
    assert politeness.retry_delay(attempt, rand=lambda: 0.999999) == round(ceiling)


def test_retry_delays_are_spread_so_workers_do_not_retry_in_step():
    delays = {politeness.retry_delay(3) for _ in range(200)}
    assert len(delays) > 20
    assert min(delays) >= 60 and max(delays) <= 120


def test_a_delay_is_never_zero():
    assert politeness.retry_delay(1, base=1, rand=lambda: 0.0) == 1


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        (None, politeness.HOST_CONNECTIONS),
        ("", politeness.HOST_CONNECTIONS),
        ("many", politeness.HOST_CONNECTIONS),
        ("3", 3),
        (" 12 ", 12),
        ("0", 1),
        ("-4", 1),
        ("100000", politeness.HOST_CONNECTIONS_MAX),
    ],
)
def test_the_host_limit_setting_is_read_safely(text, limit):
    assert politeness.host_connections(text) == limit


def test_a_host_has_as_many_slots_as_its_limit_each_a_valid_int4_key_pair():
    keys = politeness.host_slot_keys("IMAP.Example.test", 993, 5)
    assert sorted(slot for _space, slot in keys) == [0, 1, 2, 3, 4]
    assert len({space for space, _slot in keys}) == 1
    for pair in keys:
        assert all(-(2**31) <= number < 2**31 for number in pair)
    assert {space for space, _ in politeness.host_slot_keys("imap.example.test", 993, 5)} == {keys[0][0]}
    assert politeness.host_slot_keys("imap.example.test", 143, 1)[0][0] != keys[0][0], "one server per port"


def test_host_keys_are_the_same_in_every_process():
    """Workers on other machines must compute the same lock for the same host (unlike Python's hash())."""
    code = "from mailcore import politeness; print(politeness.host_slot_keys('mail.example.test', 993, 1)[0][0])"
    runs = {
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={"PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert runs == {f"{politeness.host_slot_keys('mail.example.test', 993, 1)[0][0]}\n"}


def test_account_keys_live_apart_from_host_keys():
    space, account_id = politeness.account_lock_key(42)
    assert account_id == 42
    assert space == politeness.ACCOUNT_LOCK_SPACE

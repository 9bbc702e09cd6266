"""The rate limits with the limiter switched on: sign-in, password reset, registration, the
mailing list and the API, counted in memory and in Redis.

The limiter is one object per process and the shared test app keeps it off, so each run is
the real app in a process of its own (tests/rate_limited_app.py) on its own SQLite file.
The numbers are the production limits: these tests fail if one of them is loosened.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
REQUIRE = os.environ.get("CITYPAIR_REQUIRE_SERVICES") == "1" or os.environ.get("CI") == "true"
#: a database of its own on the shared Redis; every run also keys under its own prefix
LIMITS_REDIS = os.environ.get("CITYPAIR_TEST_LIMITS_REDIS", "redis://127.0.0.1:6379/12")

#: the production limits, per address (webapp/auth, webapp/public, webapp/api); sign-in counts
#: per account and address, with a generous limit per address besides
LOGIN, FORGOT, REGISTER, MAILING, API = 20, 5, 10, 10, 600
LOGIN_ADDRESS = 200
NEUTRAL = "The e-mail address or password is not right, or the account is locked for a while."
TOO_MANY = ("Too many attempts", "Please wait a few minutes before you try again.")
#: what the environment must not decide for the process under test
NOT_INHERITED = {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "SMTP_HOST", "MAIL_SINK_DIR",
                 "BASE_URL", "RATELIMIT_STORAGE_URI", "RATELIMIT_ENABLED"}


def run_app(folder: Path, storage: str, scenarios: dict[str, dict[str, int]],
            prefix: str = "") -> dict[str, Any]:
    """Run ``scenarios`` against the real app with its limits on; their answers, as JSON."""
    folder.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env["CITYPAIR_INSTANCE"] = str(folder)
    settings = {"storage": storage, "prefix": prefix, "folder": str(folder),
                "scenarios": scenarios}
    proc = subprocess.run([sys.executable, "-m", "tests.rate_limited_app", json.dumps(settings)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-5000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def statuses(answers: list[dict[str, Any]]) -> list[int]:
    return [a["status"] for a in answers]


def assert_too_many_page(answer: dict[str, Any]) -> None:
    """The app's own error page for 429, not Flask-Limiter's bare text."""
    assert answer["status"] == 429
    assert answer["mimetype"] == "text/html"
    body = answer["body"]
    assert all(words in body for words in TOO_MANY), body[:2000]
    assert "Error 429" in body and '<a href="/">' in body
    assert NEUTRAL not in body


def assert_neutral_refusal(answer: dict[str, Any]) -> None:
    assert answer["status"] == 200
    assert "There is a problem" in answer["body"] and NEUTRAL in answer["body"]
    assert "Too many attempts" not in answer["body"]


@pytest.fixture(scope="module")
def in_memory(tmp_path_factory) -> dict[str, Any]:
    """One process, limits counted in memory, every scenario one limit and a bit beyond."""
    return run_app(tmp_path_factory.mktemp("limits") / "memory", "memory://", {
        "login": {"wrong": LOGIN},  # the account's 21st post is refused
        "office": {"people": LOGIN_ADDRESS},  # the address's 201st post is refused
        "forgot": {"count": FORGOT + 2},
        "register": {"count": REGISTER + 1},
        "mailing_list": {"count": MAILING + 1},
        "api": {"count": API + 1},
    })


def test_login_beyond_its_limit_gets_the_friendly_429_page(in_memory):
    run = in_memory["login"]
    assert run["right_first"]["status"] == 302
    assert statuses(run["wrong"]) == [200] * LOGIN
    # Wrong passwords before the limit get the one neutral message, the lock-out included.
    for answer in run["wrong"]:
        assert_neutral_refusal(answer)
    # Beyond the account's limit even its right password is refused (however it is typed),
    # and nobody is signed in.
    assert_too_many_page(run["guessed_account_late"])
    # The limit is on sending the form: the sign-in page itself still opens.
    assert run["page_after"]["status"] == 200
    # It counts one account from one address: a colleague at the same address signs in, and
    # another address still gets the neutral message.
    assert run["right_late"]["status"] == 302
    assert_neutral_refusal(run["other_address"])


def test_a_whole_office_behind_one_address_signs_in_until_the_address_limit(in_memory):
    run = in_memory["office"]
    assert run["statuses"] == [302] * LOGIN_ADDRESS + [429]


def test_password_reset_requests_beyond_their_limit_send_nothing(in_memory):
    run = in_memory["forgot"]
    assert statuses(run["answers"]) == [200] * FORGOT + [429] * 2
    for answer in run["answers"][:FORGOT]:
        assert "Check your e-mail" in answer["body"]
    for answer in run["answers"][FORGOT:]:
        assert_too_many_page(answer)
    assert run["reset_mails"] == FORGOT


def test_registrations_beyond_their_limit_make_no_account(in_memory):
    run = in_memory["register"]
    assert statuses(run["answers"]) == [200] * REGISTER + [429]
    assert all("Check your e-mail" in a["body"] for a in run["answers"][:REGISTER])
    assert_too_many_page(run["answers"][REGISTER])
    assert run["emails"] == sorted(f"person{n}@city.eu" for n in range(REGISTER))
    assert run["organisations"] == REGISTER


def test_mailing_list_subscriptions_beyond_their_limit_store_nothing(in_memory):
    run = in_memory["mailing_list"]
    assert statuses(run["answers"]) == [302] * MAILING + [429]
    assert_too_many_page(run["answers"][MAILING])
    assert run["subscribers"] == MAILING


def test_the_api_answers_429_as_a_problem_document(in_memory):
    run = in_memory["api"]
    assert run["statuses"] == [200] * API + [429]
    for answer in (run["refused"][0], run["anonymous"]):
        assert answer["status"] == 429
        assert answer["mimetype"] == "application/problem+json"
        problem = json.loads(answer["body"])
        assert problem["status"] == 429 and problem["title"] == "Too Many Requests"
        assert "wait a minute" in problem["detail"]
    # The API's allowance is its own: the pages keep theirs.
    assert run["public_page"]["status"] == 200


# -- Redis: one count for every process of the site ---------------------------------------

@pytest.fixture
def limits_redis() -> Iterator[tuple[redis.Redis, list[str]]]:
    """The Redis the limits are kept in, and a list of key prefixes whose keys are removed
    afterwards."""
    client = redis.Redis.from_url(LIMITS_REDIS, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        if REQUIRE:
            pytest.fail(f"Redis is required (CI) but not reachable at {LIMITS_REDIS}: {exc}")
        pytest.skip(f"Redis not reachable at {LIMITS_REDIS}")
    prefixes: list[str] = []
    yield client, prefixes
    for prefix in prefixes:
        for key in client.scan_iter(match=f"*{prefix}*"):
            client.delete(key)
    client.close()


def test_redis_counts_for_every_process_and_keeps_runs_apart(tmp_path, limits_redis):
    client, prefixes = limits_redis
    shared, other = (f"citypair-test-{uuid.uuid4().hex}" for _ in range(2))
    prefixes += [shared, other]
    # The first process: a right sign-in, ten wrong ones for another account and one right
    # one for it (eleven for that account), and a right one again, all allowed.
    first = run_app(tmp_path / "first", LIMITS_REDIS, {"login": {"wrong": 10}}, shared)["login"]
    assert first["right_first"]["status"] == 302
    for answer in first["wrong"]:
        assert_neutral_refusal(answer)
    assert first["guessed_account_late"]["status"] == 302
    assert first["right_late"]["status"] == 302
    keys = [k.decode() for k in client.scan_iter(match=f"*{shared}*")]
    assert keys, "the limiter wrote nothing to Redis"
    assert any("login" in key for key in keys), keys
    # Windows expire on their own: nothing is kept longer than the 15 minutes counted.
    assert all(0 < client.ttl(key) <= 15 * 60 for key in keys)

    # A second process on the same Redis goes on from that account's 11 posts: 9 more allowed.
    second = run_app(tmp_path / "second", LIMITS_REDIS, {"login": {"wrong": 10}},
                     shared)["login"]
    assert second["right_first"]["status"] == 302
    assert statuses(second["wrong"]) == [200] * 9 + [429]
    for answer in second["wrong"][:9]:
        assert_neutral_refusal(answer)
    assert_too_many_page(second["wrong"][9])
    assert_too_many_page(second["guessed_account_late"])
    assert second["right_late"]["status"] == 302
    assert_neutral_refusal(second["other_address"])

    # A run under another prefix counts from zero, so parallel test runs never collide.
    apart = run_app(tmp_path / "apart", LIMITS_REDIS, {"login": {"wrong": 1}}, other)["login"]
    assert apart["right_first"]["status"] == 302
    assert_neutral_refusal(apart["wrong"][0])
    assert apart["right_late"]["status"] == 302


def test_with_redis_down_limits_count_in_memory_instead_of_failing(tmp_path):
    # Nothing listens on port 1: every request finds the limits' storage unreachable.
    run = run_app(tmp_path / "down", "redis://127.0.0.1:1/0", {"login": {"wrong": LOGIN}},
                  prefix=f"down-{uuid.uuid4().hex[:8]}")["login"]
    assert run["right_first"]["status"] == 302
    assert statuses(run["wrong"]) == [200] * LOGIN
    for answer in run["wrong"]:
        assert_neutral_refusal(answer)
    assert_too_many_page(run["guessed_account_late"])

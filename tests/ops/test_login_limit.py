"""The sign-in limit: per account and per address, exact, shared by every process, on the
file store and on Redis; behind a proxy; an admin lifts it."""

from __future__ import annotations

import pytest

from lms.accounts import throttle
from lms.config import Config
from lms.core.ratestore import SQLiteStorage
from tests.conftest import PASSWORD, text_of

LIMIT = 10  # the default LMS_LOGIN_LIMIT: 10 per minute


def login(client, email, password="wrong-password-x", addr="10.0.0.1"):
    return client.post(
        "/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": addr},
    )


@pytest.fixture(params=["file", "redis"])
def store(request):
    """Each test runs with the counters in the shared file, then in a real Redis."""
    if request.param == "redis":
        return request.getfixturevalue("redis_limiter")
    return None


def test_an_account_is_locked_after_exactly_the_limit_of_failures(client, make_user, store):
    user = make_user(email="anna@example.test")
    codes = [login(client, user.email, addr=f"10.0.1.{i}").status_code for i in range(LIMIT + 3)]
    assert codes == [401] * LIMIT + [429] * 3
    # locked: even the right password waits, and the page says until when
    resp = login(client, user.email, PASSWORD, addr="10.9.9.9")
    assert resp.status_code == 429
    assert "Try again at" in text_of(resp)
    # another account from the same addresses is not affected
    other = make_user(email="boris@example.test")
    assert login(client, other.email, PASSWORD, addr="10.0.1.1").status_code == 302


def test_an_address_is_limited_across_accounts(client, make_user, store):
    users = [make_user(email=f"p{i}@example.test") for i in range(LIMIT + 2)]
    codes = [login(client, u.email, addr="10.0.2.1").status_code for u in users]
    assert codes == [401] * LIMIT + [429] * 2
    # from another address people sign in as usual
    assert login(client, users[0].email, PASSWORD, addr="10.0.2.2").status_code == 302


def test_successful_sign_ins_do_not_count(client, make_user, store):
    user = make_user(email="office@example.test")
    for _ in range(LIMIT * 2):
        assert login(client, user.email, PASSWORD, addr="10.0.3.1").status_code == 302
        client.post("/logout")
    assert login(client, user.email, addr="10.0.3.1").status_code == 401


def test_the_lock_ends_with_the_window(client, make_user, store, app):
    config = app.config["LMS_CONFIG"]
    saved = config.login_limit
    config.login_limit = "2 per 4 seconds"  # wide enough for a slow machine
    try:
        user = make_user(email="short@example.test")
        assert [login(client, user.email).status_code for _ in range(3)] == [401, 401, 429]
        until = throttle.locked_until(user.email)
        assert until is not None
        import time

        time.sleep(max(0.0, until.timestamp() - time.time()) + 0.2)
        assert throttle.locked_until(user.email) is None
        assert login(client, user.email, PASSWORD, addr="10.0.4.4").status_code == 302
    finally:
        config.login_limit = saved


def test_an_admin_lifts_the_lock(client, make_user, login_as, store):
    user = make_user(email="locked@example.test")
    for i in range(LIMIT):
        login(client, user.email, addr=f"10.0.5.{i}")
    assert login(client, user.email, PASSWORD, addr="10.0.5.99").status_code == 429

    login_as("admin", email="admin@example.test")
    page = client.get(f"/admin/users/{user.id}")
    assert "Sign-in is locked after too many failed attempts" in text_of(page)
    assert client.post(f"/admin/users/{user.id}/unlock").status_code == 303
    assert "Sign-in is locked" not in text_of(client.get(f"/admin/users/{user.id}"))
    client.post("/logout")
    assert login(client, user.email, PASSWORD, addr="10.0.5.100").status_code == 302


def test_the_file_store_is_shared_by_separate_processes(tmp_path):
    """Two storages on one file (as in two gunicorn workers) count together, exactly."""
    import concurrent.futures

    url = f"brigade-sqlite:///{tmp_path}/rl.db"
    a, b = SQLiteStorage(url), SQLiteStorage(url)

    def hit(storage):
        return storage.incr("k", 60)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        values = list(pool.map(hit, [a, b] * 50))
    assert sorted(values) == list(range(1, 101))
    assert a.get("k") == b.get("k") == 100
    a.clear("k")
    assert b.get("k") == 0


def test_without_redis_the_default_store_is_a_shared_file_never_memory():
    assert Config().ratelimit_storage.startswith("brigade-sqlite:///")
    assert Config(redis_url="redis://127.0.0.1:6379/0").ratelimit_storage.startswith("redis://")
    assert Config.from_env({"LMS_REDIS_URL": "redis://r:6379/1"}).ratelimit_storage == (
        "redis://r:6379/1"
    )

"""Finding the operator's login: the in-cluster files, and a token file that rotates."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from photostore.operator.login import TokenFile, in_cluster_login
from photostore.operator.settings import OperatorSettings


def swap_in(path: Path, text: str) -> None:
    fresh = path.with_name(path.name + ".new")
    fresh.write_text(text)
    fresh.replace(path)


def test_a_token_file_is_read_again_once_it_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("first\n")
    tokens = TokenFile(path)
    assert tokens.token() == "first"
    swap_in(path, "second")
    assert tokens.token() == "second"


def test_a_forced_reread_sees_an_edit_in_place(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("abc")
    tokens = TokenFile(path)
    stat = path.stat()
    assert tokens.token() == "abc"
    with path.open("r+") as f:  # same inode, same size, mtime forced back
        f.write("xyz")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert tokens.token() == "abc"
    assert tokens.token(reread=True) == "xyz"


@pytest.fixture
def account(tmp_path: Path) -> Path:
    (tmp_path / "token").write_text("jwt")
    (tmp_path / "ca.crt").write_text("not read here")
    (tmp_path / "namespace").write_text("photostore-system\n")
    return tmp_path


def test_in_cluster_login_reads_the_service_host_and_account_files(
    account: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    login = in_cluster_login(OperatorSettings(service_account_dir=account))
    assert login is not None
    assert login.server == "https://[fd00::1]:443"
    assert login.ca_path == str(account / "ca.crt")
    assert login.namespace == "photostore-system"
    assert login.token() == "jwt"


@pytest.mark.parametrize("missing", ["KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"])
def test_outside_a_pod_there_is_no_in_cluster_login(
    account: Path, monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    monkeypatch.delenv(missing)
    assert in_cluster_login(OperatorSettings(service_account_dir=account)) is None


def test_without_a_token_file_there_is_no_in_cluster_login(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    assert in_cluster_login(OperatorSettings(service_account_dir=tmp_path)) is None

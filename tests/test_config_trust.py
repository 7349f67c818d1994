"""Settings only from files the user trusts, as git's safe.directory (CVE-2022-24765).

Configuration is found by walking up from each email's folder; outside a repository the walk
goes to ``/``. A ``mailpatch.toml`` that another local user plants in ``/tmp`` or on a shared
drive would otherwise set the host of every registrant's link. It is used only when the user
(or root) owns it and no one else can write it or its folder; otherwise the run stops with a
usage error (exit 2) naming the file, and nothing is written.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from mailpatch._cli import main
from mailpatch._config import ConfigError, find_config

from fixturecases import FIXTURES

EXAMPLE = FIXTURES / "examples" / "registration-email.html"
GUID = "3d5f7b9c-1e2a-ef11-a82e-000d3a4b5c6d"
PLANTED = f"""endpoint = "attacker.svc.dynamics.com"
[events]
"{GUID}" = "Planted"
[fields]
email = "{{{{contact.emailaddress1}}}}"
"""
NOBODY = 65534  # a uid that is not the user running the tests (nor root)
as_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="giving a file away needs root"
)
ARGS = ["patch", "--endpoint", "contoso.svc.dynamics.com", "--event-id", "Mine"]


def shared_folder(tmp_path: Path) -> Path:
    """A folder like /tmp: everyone may write, the sticky bit keeps their files apart."""
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o1777)
    return folder


def email_in(folder: Path) -> Path:
    target = folder / "emails" / "summit.html"
    target.parent.mkdir(parents=True)
    shutil.copyfile(EXAMPLE, target)
    return target


@as_root
@pytest.mark.parametrize("name", ["mailpatch.toml", "pyproject.toml"])
def test_a_file_another_user_owns_is_refused_by_name(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = shared_folder(tmp_path)
    planted = folder / name
    text = PLANTED if name == "mailpatch.toml" else PLANTED.replace("[", "[tool.mailpatch.", 2)
    planted.write_text(("[tool.mailpatch]\n" if name == "pyproject.toml" else "") + text, "utf-8")
    os.chown(planted, NOBODY, NOBODY)
    email = email_in(folder)
    before = email.read_bytes()
    assert main([*ARGS, str(email)]) == 2
    err = capsys.readouterr().err
    assert str(planted) in err and f"owned by another user (uid {NOBODY})" in err
    assert "--config" in err  # what to do instead
    assert email.read_bytes() == before  # nothing written


@as_root
def test_a_pyproject_of_another_user_without_a_mailpatch_table_is_passed_over(
    tmp_path: Path,
) -> None:
    folder = shared_folder(tmp_path)
    (folder / "pyproject.toml").write_text('[project]\nname = "theirs"\n', "utf-8")
    os.chown(folder / "pyproject.toml", NOBODY, NOBODY)
    email = email_in(folder)
    assert find_config(email.parent) == (None, Path.cwd().absolute())


def test_a_file_others_may_write_is_refused(tmp_path: Path) -> None:
    (tmp_path / "mailpatch.toml").write_text(PLANTED, "utf-8")
    (tmp_path / "mailpatch.toml").chmod(0o666)
    with pytest.raises(ConfigError, match="others can write it"):
        find_config(tmp_path)


def test_a_folder_others_may_write_without_the_sticky_bit_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "open"
    folder.mkdir()
    folder.chmod(0o777)  # anyone may replace the file in it
    (folder / "mailpatch.toml").write_text(PLANTED, "utf-8")
    with pytest.raises(ConfigError, match=r"others can write its folder"):
        find_config(folder)


def test_the_users_own_file_in_a_sticky_shared_folder_is_used(tmp_path: Path) -> None:
    folder = shared_folder(tmp_path)
    (folder / "mailpatch.toml").write_text('endpoint = "mine.svc.dynamics.com"\n', "utf-8")
    email = email_in(folder)
    assert main([*ARGS[:1], "--event-id", "Mine", str(email)]) == 0
    assert "mine.svc.dynamics.com" in email.read_text("utf-8")


@as_root
def test_an_explicit_config_is_taken_as_named(tmp_path: Path) -> None:
    """--config FILE is the user's own choice of file: named, it is trusted."""
    config = tmp_path / "team.toml"
    config.write_text('endpoint = "team.svc.dynamics.com"\n', "utf-8")
    os.chown(config, NOBODY, NOBODY)
    email = email_in(tmp_path)
    assert main(["patch", "--config", str(config), "--event-id", "Mine", str(email)]) == 0
    assert "team.svc.dynamics.com" in email.read_text("utf-8")


def test_the_file_used_is_named_in_verbose_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "mailpatch.toml").write_text('endpoint = "mine.svc.dynamics.com"\n', "utf-8")
    (tmp_path / ".git").mkdir()
    email = email_in(tmp_path)
    assert main(["patch", "--check", "-v", "--event-id", "Mine", str(email)]) == 1
    assert f"config: {tmp_path / 'mailpatch.toml'}" in capsys.readouterr().err
    assert main(["patch", "--check", "--format", "json", "--event-id", "Mine", str(email)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["config"] == str(tmp_path / "mailpatch.toml")

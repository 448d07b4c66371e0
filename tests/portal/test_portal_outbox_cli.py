"""`tmc outbox [--json] [--to ADDRESS]`: the captured SMS and emails, newest first."""

from __future__ import annotations

import json

from click.testing import CliRunner

from app.cli import main
from app.notifications import dev_outbox


def test_outbox_lists_newest_first_and_filters(session, settings, monkeypatch):
    monkeypatch.setenv("TMC_DATABASE_URL", settings.database_url)
    from app.core.config import get_settings

    get_settings.cache_clear()
    dev_outbox.capture(session, "sms", "+447700900123", None, "first")
    session.commit()
    dev_outbox.capture(session, "email", "alex.t@example.com", "Subject", "second")
    session.commit()
    runner = CliRunner()
    result = runner.invoke(main, ["outbox", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert [m["body"] for m in listed][:2] == ["second", "first"]
    only = json.loads(runner.invoke(main, ["outbox", "--json", "--to", "07700 900123"]).output)
    assert [m["body"] for m in only] == ["first"] and only[0]["channel"] == "sms"
    text = runner.invoke(main, ["outbox"]).output
    assert "alex.t@example.com" in text and "second" in text
    get_settings.cache_clear()


def test_capture_refuses_unknown_channels(session):
    import pytest

    with pytest.raises(ValueError):
        dev_outbox.capture(session, "pigeon", "x", None, "y")

"""Messages stored as data (mailcore.message) render in whatever language the reader's gettext gives,
clean of what a server may send, and never raise on what an older version stored."""

import json

from mailcore import error_message, explain, message, render_message
from mailcore.text import Text

FRENCH = {
    "Connected to %(host)s (%(address)s).": "Connecté à %(host)s (%(address)s).",
    "%(host)s refused the connection on port %(port)s.": "%(host)s a refusé la connexion sur le port %(port)s.",
}


def french(text):
    return FRENCH.get(text, text)


def test_a_stored_message_is_json_and_renders_in_the_readers_language():
    stored = json.loads(json.dumps(message("Connected to %(host)s (%(address)s).", host="h", address="::1")))
    assert render_message(stored) == "Connected to h (::1)."
    assert render_message(stored, french) == "Connecté à h (::1)."


def test_an_error_code_renders_its_explanation_and_nested_messages_follow_the_language():
    params = {"host": "mail.example.test", "port": 25}
    stored = message("Sending through %(account)s failed: %(reason)s", account="a@b", reason=error_message(
        "connection_refused", params))
    assert render_message(stored, french).endswith(explain("connection_refused", params, french))
    assert "a refusé la connexion sur le port 25" in render_message(stored, french)


def test_a_core_text_parameter_is_stored_as_a_message():
    stored = message("Settings found %(origin)s.", origin=Text("from %(name)s", name="x"))
    assert stored["params"]["origin"] == {"template": "from %(name)s", "params": {"name": "x"}}


def test_old_or_odd_data_renders_without_raising():
    assert render_message("frozen text of an older version") == "frozen text of an older version"
    assert render_message(None) == ""
    assert render_message(False) == ""
    assert render_message({"code": "no_such_code_any_more", "params": {}}) == "no_such_code_any_more"
    assert render_message({"template": "%(missing)s left", "params": {}}) == "? left"

"""The gettext template holds every translatable string of the code (one wording catalogue)."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def _extracted_ids() -> set[str]:
    method_map = [("app/**.py", "python"), ("templates/**.html", "jinja2")]
    ids = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=method_map, keywords=KEYWORDS
    ):
        ids.add(message[0] if isinstance(message, tuple) else message)
    return ids


def test_template_is_current_run_scripts_i18n_if_this_fails():
    with open(ROOT / "app/locale/messages.pot", "rb") as handle:
        template = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    extracted = _extracted_ids()
    assert extracted - template == set(), "strings missing from messages.pot"
    assert template - extracted == set(), "stale strings in messages.pot"


def test_every_string_has_a_welsh_translation():
    """Victims may use the portal in Welsh: no English left in the Welsh catalogue."""
    with open(ROOT / "app/locale/cy/LC_MESSAGES/messages.po", "rb") as handle:
        catalogue = read_po(handle)
    untranslated = [m.id for m in catalogue if m.id and (
        not m.string or (isinstance(m.string, tuple) and not all(m.string)) or m.fuzzy)]
    assert untranslated == [], f"{len(untranslated)} strings without Welsh: run scripts/i18n"

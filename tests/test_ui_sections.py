"""kataview.ui.widgets.sections: the lines a table shows, without a running app."""

from __future__ import annotations

from dataclasses import dataclass

from kataview.ui.filtering import parse_filter
from kataview.ui.widgets.sections import Section, SectionHeader, section_lines


@dataclass
class Row:
    key: str
    haystack: str
    namespace: str = "default"


def test_titled_sections_lead_with_a_header_and_hide_when_empty() -> None:
    kata = Section("group:kata", [Row("a", "alpha"), Row("b", "beta")], title="kata", detail="2 VMs")
    runc = Section("group:runc", [Row("c", "gamma")], title="runc (default)")
    lines, count, matches = section_lines([kata, runc], parse_filter("a"), None, None, False)
    assert count == 3 and [len(found) for found in matches] == [2, 1]
    assert [line.text for line in lines if isinstance(line, SectionHeader)] == [
        "▍kata  2 pods  · 2 VMs", "▍runc (default)  1 pod"]
    lines, count, matches = section_lines([kata, runc], parse_filter("alp"), None, matches, False)
    assert count == 1 and [line.key for line in lines] == ["group:kata", "a"]
    assert lines[0].text == "▍kata  1 of 2 pods  · 2 VMs"


def test_untitled_section_is_rows_only() -> None:
    lines, count, _ = section_lines([Section(None, [Row("n", "node-1")])], parse_filter(""), None, None, False)
    assert count == 1 and [line.key for line in lines] == ["n"]

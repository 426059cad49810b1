"""The client window's stage table (core/gui/client_stages.py) is whole and consistent."""

from __future__ import annotations

from core.gui import client_stages as st


def test_every_stage_has_a_row_and_a_way_on() -> None:
    assert set(st.STAGES) == set(st.NEXT)
    for following in st.NEXT.values():
        assert following <= set(st.STAGES)


def test_losing_the_server_may_follow_any_stage() -> None:
    assert all(st.may_follow(stage, st.DISCONNECTED) for stage in st.STAGES)


def test_yes_and_no_are_offered_only_while_asking() -> None:
    assert [name for name, stage in st.STAGES.items() if stage.asking] == [st.ASKING]


def test_a_download_locks_what_would_change_it() -> None:
    assert set(st.BUSY) == {st.DOWNLOADING, st.CANCELLING}
    assert not st.may_follow(st.DOWNLOADING, st.CHECKING)  # no second question mid-download
    assert not st.may_follow(st.DISCONNECTED, st.DOWNLOADING)

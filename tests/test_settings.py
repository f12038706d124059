"""Settings: versioned JSON in the config folder, migrated forward, never lost to a bad or newer file."""

import json

from selfie_desk.core import paths
from selfie_desk.core.settings import MAX_RECENT, SETTINGS_VERSION, Settings


def settings_file():
    return paths.config_dir() / "settings.json"


def test_defaults_when_there_is_no_file():
    s = Settings.load()
    assert (s.device, s.thumbnail_size, s.auto_advance, s.sort, s.recent_folders) == ("auto", 200, False, "score", [])
    assert s.last_folder is None


def test_round_trip_and_recent_folders(tmp_path):
    s = Settings.load()
    s.device, s.thumbnail_size, s.auto_advance = "cpu", 240, True
    for i in range(MAX_RECENT + 3):
        s.add_recent(f"/photos/{i}")
    s.add_recent("/photos/5")  # again: moves to the top, no duplicate
    s.save()
    raw = json.loads(settings_file().read_text())
    assert raw["version"] == SETTINGS_VERSION
    again = Settings.load()
    assert (again.device, again.thumbnail_size, again.auto_advance) == ("cpu", 240, True)
    assert again.last_folder == "/photos/5" and len(again.recent_folders) == MAX_RECENT
    assert again.recent_folders.count("/photos/5") == 1


def test_a_file_without_a_version_is_migrated():
    settings_file().write_text(json.dumps({"device": "cpu", "thumbnail_size": 160}))
    s = Settings.load()
    assert (s.device, s.thumbnail_size) == ("cpu", 160)
    s.save()
    assert json.loads(settings_file().read_text())["version"] == SETTINGS_VERSION


def test_bad_values_fall_back_to_defaults():
    settings_file().write_text(json.dumps({"version": 1, "device": "tpu", "thumbnail_size": 99999,
                                           "auto_advance": "yes", "recent_folders": ["/a", 3, None]}))
    s = Settings.load()
    assert s.device == "auto" and s.thumbnail_size == 320 and s.auto_advance is False
    assert s.recent_folders == ["/a"]
    settings_file().write_text("{ not json")
    assert Settings.load().device == "auto"


def test_a_newer_file_is_read_but_never_overwritten():
    text = json.dumps({"version": SETTINGS_VERSION + 1, "device": "cpu", "something_new": {"x": 1}})
    settings_file().write_text(text)
    s = Settings.load()
    assert s.device == "cpu" and s.read_only
    s.device = "cuda"
    s.save()
    assert settings_file().read_text() == text


def test_grouping_thresholds_keep_only_what_the_user_chose_and_version_1_defaults_are_dropped():
    from selfie_desk.core.culling.groups import GroupingParams

    # version 1 wrote the thresholds whether or not anyone chose them: its defaults mean "not chosen"
    settings_file().write_text(json.dumps({"version": 1, "burst_similarity": 0.85, "burst_gap_s": 2.0}))
    s = Settings.load()
    assert (s.burst_similarity, s.burst_gap_s) == (None, None)
    assert s.grouping_params() == GroupingParams()  # the app's defaults, whatever they are now
    settings_file().write_text(json.dumps({"version": 1, "burst_similarity": 0.7, "burst_gap_s": 2.0}))
    s = Settings.load()
    assert (s.burst_similarity, s.burst_gap_s) == (0.7, None)  # the user's choice survives the upgrade
    assert s.grouping_params().burst_similarity == 0.7
    s.choose_grouping(GroupingParams(burst_similarity=0.85, burst_gap_s=0.5))  # back to the default, a new gap
    s.save()
    again = Settings.load()
    assert (again.burst_similarity, again.burst_gap_s) == (None, 0.5)
    assert again.grouping_params() == GroupingParams(burst_gap_s=0.5)

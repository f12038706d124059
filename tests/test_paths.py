from pathlib import Path

from selfie_desk.core import paths


def test_home_variable_moves_every_app_file(app_home: Path):
    for location in (paths.data_dir(), paths.cache_dir(), paths.config_dir(), paths.thumbnail_dir(),
                     paths.user_models_dir(), paths.catalog_path().parent):
        assert app_home in location.parents or location == app_home
        assert location.exists()


def test_bundled_folders_exist():
    assert (paths.bundled_models_dir() / "README.md").is_file()
    assert any(paths.demo_photos_dir().glob("*.png"))

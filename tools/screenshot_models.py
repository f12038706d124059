"""A screenshot of the personal-model flow for docs/personal-models.md: the taste folder of
tests/taste_data.py scored, black-and-white picked and colour rejected (a few left unflagged), a model
trained from those picks in the window, made active, then Review Uncertain. Offscreen (QWidget.grab),
in a temporary SELFIE_DESK_HOME.

    .venv/bin/python tools/screenshot_models.py   # writes docs/screenshots/personal-models.png
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="shot-models-"))
    os.environ["SELFIE_DESK_HOME"] = str(tmp / "home")
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from selfie_desk.core import paths
    from selfie_desk.core.culling.session import CullingSession
    from selfie_desk.core.settings import Settings
    from selfie_desk.core.storage.catalog import Catalog
    from selfie_desk.demo import make_taste_folder
    from selfie_desk.neural import pipeline
    from selfie_desk.neural.model import Scorer
    from selfie_desk.ui.main_window import MainWindow

    folder = tmp / "photos"
    truth = make_taste_folder(folder, per_source=6)
    scorer = Scorer(device="cpu")
    with Catalog(paths.catalog_path()) as catalog:
        pipeline.score([folder], catalog, scorer)
        for i, p in enumerate(catalog.photos("default", folder=str(folder))):
            if i % 6 in (0, 3):  # one picture in three left unflagged, in both versions, across all sources
                continue
            CullingSession(catalog).adopt([(p.id, "decision", "keep" if truth[Path(p.path).name] else "reject")])

    app = QApplication.instance() or QApplication([])

    def wait(signal, ms: int = 120_000) -> None:
        loop = QEventLoop()
        signal.connect(loop.quit)
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    catalog = Catalog(paths.catalog_path())
    window = MainWindow(catalog, Settings.load(), scorer_factory=lambda model, device: scorer)
    window.resize(1440, 900)
    window.show()
    window.open_folder(folder)
    wait(window.scan_finished)
    window.personal.train("black-and-white")
    wait(window.personal.training_finished)
    window.personal.choose("black-and-white")
    wait(window.scan_finished)
    window.review_uncertain()
    for _ in range(40):  # let thumbnails arrive
        app.processEvents()
        QTimer.singleShot(50, lambda: None)
        loop = QEventLoop()
        QTimer.singleShot(50, loop.quit)
        loop.exec()
    out = ROOT / "docs" / "screenshots" / "personal-models.png"
    window.grab().save(str(out))
    print(out)
    window.shut_down()
    catalog.close()


if __name__ == "__main__":
    main()

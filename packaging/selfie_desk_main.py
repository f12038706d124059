"""The frozen app's entry point (PyInstaller runs this file as __main__): the same `main` as `selfie-desk`."""

import sys

from selfie_desk.cli import main

if __name__ == "__main__":
    sys.exit(main())

import sys

from selfie_desk.cli import main

sys.exit(main())

import sys

from napari_ivae.cli import main

sys.exit(main())

import sys

from ..cli import main

sys.exit(main(["studio", *sys.argv[1:]]))

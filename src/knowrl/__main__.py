import sys

from knowrl.cli import main

sys.exit(main())

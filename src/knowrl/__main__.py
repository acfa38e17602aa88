import sys

from knowrl.cli import main

if __name__ == "__main__":  # guarded: worker processes (spawn) re-import this module as __mp_main__
    sys.exit(main())

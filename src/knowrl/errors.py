"""User-facing errors: the CLI prints them as one line and exits non-zero, without a traceback."""


class KnowRLError(Exception):
    """A problem the user can fix (bad input, missing asset, wrong setting). Message is one clear line."""

    exit_code = 2


class ConfigError(KnowRLError):
    """The configuration does not validate or names something unknown."""


class AssetError(KnowRLError):
    """An asset is missing, corrupt or does not match its pinned checksum."""


class InputError(KnowRLError):
    """An input file is malformed (used with --strict, or when nothing usable remains)."""

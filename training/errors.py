"""The one exception every stage raises for bad input; the command line prints it as one line."""


class UserError(Exception):
    """A problem with the user's input: printed as one clear line, never as a traceback."""

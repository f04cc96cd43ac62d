"""民主测评 ballot for raters: reached by scanning or typing a one-time code, no account."""

from ui.ballot_ui import ballot_flow

ballot_flow()

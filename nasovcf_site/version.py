"""The app's version, stamped on the validation report (with the rules' version, scoring.rules)."""

VERSION = "1.5.0"

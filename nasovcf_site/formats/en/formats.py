"""English (en-gb) dates as the app has always shown them: ISO, 2026-12-02 and 2026-12-02 14:05.
Every other format is Django's own for the language (django/conf/locale/en_GB/formats.py)."""

SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"

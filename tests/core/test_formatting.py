"""lib.core.formatting's one timestamp: what records, locks and log lines write."""

import re
import time

from lib.core.formatting import TIMESTAMP, timestamp


def test_the_timestamp_is_local_iso_time_to_the_second_and_parses_back():
    text = timestamp()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", text)
    assert abs(time.mktime(time.strptime(text, TIMESTAMP)) - time.time()) < 5

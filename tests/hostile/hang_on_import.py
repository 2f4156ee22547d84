"""A plugin module that never finishes importing (fixture: loaded only under a short load timeout)."""

import time

while True:
    time.sleep(0.05)

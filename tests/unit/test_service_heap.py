"""The service freezes the heap it builds once (issue 19): full garbage collections walk only
what it allocates while it runs, and garbage made after the freeze is still collected."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_freeze_heap_hides_the_startup_heap_and_still_collects_new_garbage() -> None:
    code = textwrap.dedent("""
        import gc
        from sweepd_service.server import freeze_heap
        before = len(gc.get_objects())
        freeze_heap()
        frozen, left = gc.get_freeze_count(), len(gc.get_objects())
        class Node:
            pass
        for _ in range(100):  # cycles, which only the collector frees
            node = Node()
            node.me = node
        del node
        print(before, frozen, left, gc.collect())
    """)
    # A process of its own: freezing the test process's heap would outlive the test.
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    before, frozen, left, collected = map(int, out)
    assert frozen > 0.9 * before and left < 0.1 * before
    assert collected >= 100

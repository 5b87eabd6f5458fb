"""app/seen.py: the bounded on-flash window of answered commands (both runtimes)."""
import os

from support import tmpdir

from faxbridge.app.seen import Seen

SLOT = 64    # the file's fixed slot (app/seen.py's format; a const there, no module name)


def test_remembers_refs_and_packet_ids_across_reopen():
    d = tmpdir("seen")
    s = Seen(d + "/seen", 16)
    s.add(7, 0x1234, b"cR1")
    s.add(8, 0x5678)
    assert s.has_ref(b"cR1") and not s.has_ref(b"tR1") and not s.has_ref(b"cR2")
    assert s.has(7, 0x1234) and s.has(8, 0x5678)
    assert not s.has(7, 0x5678) and not s.has(9, 0x1234)
    s.close()
    s = Seen(d + "/seen", 16)     # after a reboot
    assert s.has_ref(b"cR1") and s.has(8, 0x5678) and s.n == 2
    s.close()
    assert os.stat(d + "/seen")[6] == 16 * SLOT


def test_window_is_bounded_oldest_forgotten_and_order_survives_reopen():
    d = tmpdir("seen")
    s = Seen(d + "/seen", 16)
    for i in range(40):
        s.add(i + 1, 1000 + i, b"cR%d" % i)
    assert not s.has_ref(b"cR23") and s.has_ref(b"cR24") and s.has_ref(b"cR39")
    s.close()
    s = Seen(d + "/seen", 16)
    s.add(99, 5, b"cNEW")          # overwrites the oldest (R24), not a newer one
    assert not s.has_ref(b"cR24") and s.has_ref(b"cR25") and s.has_ref(b"cNEW")
    s.close()
    assert os.stat(d + "/seen")[6] == 16 * SLOT


def test_torn_or_damaged_slot_is_ignored():
    d = tmpdir("seen")
    s = Seen(d + "/seen", 16)
    s.add(1, 11, b"cA")
    s.add(2, 22, b"cB")
    s.close()
    with open(d + "/seen", "r+b") as f:
        f.seek(SLOT + 20)          # the second slot: a flipped byte (a torn write)
        f.write(b"\xee")
    s = Seen(d + "/seen", 16)
    assert s.has_ref(b"cA") and not s.has_ref(b"cB") and not s.has(2, 22)
    s.add(3, 33, b"cC")
    assert s.has_ref(b"cC") and s.n == 2
    s.close()


def test_other_size_or_garbage_file_starts_empty():
    d = tmpdir("seen")
    with open(d + "/seen", "wb") as f:
        f.write(b"garbage" * 3)
    s = Seen(d + "/seen", 16)
    assert s.n == 0 and not s.has_ref(b"cA")
    s.add(1, 1, b"cA")
    s.close()
    s = Seen(d + "/seen", 32)      # the window was resized in the config
    assert s.n == 0 and not s.has_ref(b"cA")
    s.close()


def test_crc_zero_and_long_key_never_match():
    d = tmpdir("seen")
    s = Seen(d + "/seen", 16)
    s.add(5, 0)
    assert not s.has(5, 0)
    s.add(6, 9, b"c" + b"x" * 100)  # longer than a slot holds: kept without its ref
    assert s.has(6, 9) and not s.has_ref(b"c" + b"x" * 100)
    s.close()


def test_many_answers_hash_collisions_are_confirmed_on_flash():
    d = tmpdir("seen")
    s = Seen(d + "/seen", 2048)
    for i in range(2000):
        s.add(i % 65535 + 1, 0x10000 + i, b"c%d" % i)
    assert all(s.has_ref(b"c%d" % i) for i in range(0, 2000, 7))
    assert all(s.has(i % 65535 + 1, 0x10000 + i) for i in range(0, 2000, 7))
    assert not any(s.has_ref(b"t%d" % i) for i in range(300))   # 16-bit hashes collide: not these
    assert not any(s.has(i + 2, 0x10000 + i) for i in range(300))
    assert len(s.hx) == 3 * 2048   # the RAM it keeps: 3 bytes a slot (hashes of the ref, of pid+crc)
    s.close()


def test_a_dup_matches_only_answers_of_this_or_the_previous_connection():
    # a packet id is free again once its PUBACK reached the broker (a restarted broker may
    # even count from 1 again): a DUP redelivery with an id and content answered two
    # connections ago is another command that looks the same, and must run
    d = tmpdir("seengen")
    s = Seen(d + "/seen", 16)
    s.connected()                      # connection 1
    s.add(5, 0xAAAA)
    s.add(0, 0xBBBB)                   # a retained command refused
    assert s.has(5, 0xAAAA)            # redelivered on the same connection
    s.connected()                      # connection 2: the PUBACK may have been lost
    assert s.has(5, 0xAAAA)            # ... and its match counts as answered on connection 2
    s.connected()                      # connection 3: still the one before (re-tagged)
    assert s.has(5, 0xAAAA)
    s.connected()
    s.connected()                      # connection 5: two connections with nothing
    assert not s.has(5, 0xAAAA)        # too old: a new message reusing id 5
    assert s.has(0, 0xBBBB)            # a retained refusal is remembered whatever the connection
    s.add(6, 0xCCCC)                   # answered on connection 5
    s.close()
    s = Seen(d + "/seen", 16)          # reboot: the count goes on from the flash
    s.connected()                      # connection 6
    assert s.has(6, 0xCCCC) and not s.has(5, 0xAAAA)
    s.close()


def test_a_reboot_goes_on_from_the_latest_connection_a_slot_was_tagged_with():
    # a DUP matched on a later connection re-tags its (older) slot with that connection; the
    # count at boot must go on from there, not from the newest slot's connection: else the
    # broker's next redelivery, after the reboot, is answered a second time
    d = tmpdir("seenboot")
    s = Seen(d + "/seen", 16)
    s.connected()                      # connection 1
    s.add(5, 0xAAAA)
    s.add(6, 0xBBBB)                   # the newest slot: connection 1
    s.connected()                      # connection 2: 5 redelivered, its PUBACK lost again
    assert s.has(5, 0xAAAA)
    s.connected()                      # connection 3: and again
    assert s.has(5, 0xAAAA)
    s.close()
    s = Seen(d + "/seen", 16)          # reboot
    assert s.gen == 3
    s.connected()                      # connection 4: the broker delivers 5 once more
    assert s.has(5, 0xAAAA) and not s.has(6, 0xBBBB)
    s.close()

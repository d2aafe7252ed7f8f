"""The bench's key-press capture: RFC 4733 events SIPp can replay and Asterisk will not drop."""

from __future__ import annotations

import struct

import pytest

from bench.dtmf import CLOCK, PT_EVENT, PT_PCMU, SSRC, digit_packets, events_in, read_pcap, write_pcap


def rtp(packet):
    first, second, seq, ts, ssrc = struct.unpack("!BBHII", packet.rtp[:12])
    return {
        "version": first >> 6,
        "marker": bool(second & 0x80),
        "pt": second & 0x7F,
        "seq": seq,
        "ts": ts,
        "ssrc": ssrc,
        "payload": packet.rtp[12:],
    }


def test_every_digit_is_its_own_event_with_its_own_timestamp(tmp_path):
    path = write_pcap(tmp_path / "keys.pcap", digit_packets("912", first_at=1.0, gap=0.8))
    events = events_in(read_pcap(path))
    assert [digit for digit, _, _ in events] == ["9", "1", "2"]
    stamps = [ts for _, ts, _ in events]
    assert len(set(stamps)) == 3
    assert [b - a for a, b in zip(stamps, stamps[1:])] == [round(0.8 * CLOCK)] * 2
    times = [at for _, _, at in events]
    assert times[0] == pytest.approx(1.0) and [round(b - a, 3) for a, b in zip(times, times[1:])] == [0.8, 0.8]


def test_each_event_starts_with_a_marker_grows_and_ends_three_times(tmp_path):
    packets = [rtp(p) for p in read_pcap(write_pcap(tmp_path / "k.pcap", digit_packets("5#", tone_ms=100)))]
    assert all(p["version"] == 2 and p["ssrc"] == SSRC for p in packets)
    seqs = [p["seq"] for p in packets]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    for code in (5, 11):
        event = [p for p in packets if p["pt"] == PT_EVENT and p["payload"][0] == code]
        assert event[0]["marker"] and not any(p["marker"] for p in event[1:])
        assert len({p["ts"] for p in event}) == 1
        ends = [p for p in event if p["payload"][1] & 0x80]
        assert len(ends) == 3 and ends == event[-3:]
        durations = [struct.unpack("!H", p["payload"][2:4])[0] for p in event]
        assert durations[:-3] == sorted(durations[:-3]) and durations[-1] == round(0.1 * CLOCK)


def test_the_stream_opens_with_audio_before_the_first_key(tmp_path):
    packets = [rtp(p) for p in read_pcap(write_pcap(tmp_path / "k.pcap", digit_packets("1", lead_in=3)))]
    assert [p["pt"] for p in packets[:3]] == [PT_PCMU] * 3
    assert packets[0]["marker"] and all(len(p["payload"]) == 160 for p in packets[:3])


def test_frames_are_valid_ipv4_udp(tmp_path):
    data = write_pcap(tmp_path / "k.pcap", digit_packets("0")).read_bytes()
    frame_len = struct.unpack("<I", data[24 + 8 : 24 + 12])[0]
    ip = data[24 + 16 + 14 : 24 + 16 + frame_len]
    words = struct.unpack("!10H", ip[:20])
    total = sum(words)
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    assert total == 0xFFFF  # the header checksum verifies
    assert ip[9] == 17 and struct.unpack("!H", ip[24:26])[0] == len(ip) - 20  # UDP, its length


@pytest.mark.parametrize("digits", ["", "12a", "1 2"])
def test_only_dtmf_keys_are_accepted(digits):
    with pytest.raises(ValueError):
        digit_packets(digits)

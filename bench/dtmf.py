"""A caller's key presses as one pcap file of RTP packets, for SIPp's ``play_pcap_audio``.

Why generate it: SIPp's shipped ``dtmf_2833_<digit>.pcap`` captures all carry
the same RTP timestamp, so Asterisk takes a second one played in the same call
for a retransmission of the first and drops it. Here every digit is its own
RFC 4733 event with its own RTP timestamp, spaced in time like a person
pressing keys, all in one RTP stream (one SSRC, increasing sequence numbers).

The stream opens with a few 20 ms PCMU silence packets, as a phone's would:
Asterisk's strict-RTP learning then sees the source before the first event.
SIPp replays the packets with the capture's timing and only rewrites the UDP
addressing, so the RTP headers written here are what Asterisk receives.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

CLOCK = 8000  # samples per second (PCMU and telephone-event at 8 kHz)
PACKET_MS = 20
SAMPLES = CLOCK * PACKET_MS // 1000  # 160 per packet
PT_PCMU = 0
PT_EVENT = 101  # what the SIPp scenario's SDP offers for telephone-event
EVENTS = {**{str(d): d for d in range(10)}, "*": 10, "#": 11}
PCAP_MAGIC = 0xA1B2C3D4  # microsecond timestamps, little-endian
LINKTYPE_ETHERNET = 1
SSRC = 0x51A6A112


@dataclass(frozen=True)
class Packet:
    at: float  # seconds from the start of the capture
    rtp: bytes


def digit_packets(
    digits: str, *, first_at: float = 1.0, gap: float = 0.8, tone_ms: int = 160, lead_in: int = 5, volume: int = 10
) -> list[Packet]:
    """RTP packets for ``digits``: the first pressed ``first_at`` s in, then one every ``gap`` s."""
    if not digits or any(d not in EVENTS for d in digits):
        raise ValueError(f"digits must be a non-empty string of 0-9, * and #, not {digits!r}")
    if gap * 1000 < tone_ms + 4 * PACKET_MS:
        raise ValueError("gap is shorter than a tone and its end packets")
    packets: list[Packet] = []
    seq = 1000

    def add(at: float, pt: int, ts: int, payload: bytes, marker: bool = False) -> None:
        nonlocal seq
        header = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, seq & 0xFFFF, ts & 0xFFFFFFFF, SSRC)
        packets.append(Packet(round(at, 6), header + payload))
        seq += 1

    for n in range(lead_in):  # a phone's first audio: silence (PCMU 0xFF)
        add(n * PACKET_MS / 1000, PT_PCMU, n * SAMPLES, b"\xff" * SAMPLES, marker=n == 0)
    steps = tone_ms // PACKET_MS
    for i, digit in enumerate(digits):
        start = first_at + i * gap
        ts = round(start * CLOCK)  # the event's own timestamp: when the key went down
        for step in range(1, steps + 1):
            payload = struct.pack("!BBH", EVENTS[digit], volume & 0x3F, step * SAMPLES)
            add(start + (step - 1) * PACKET_MS / 1000, PT_EVENT, ts, payload, marker=step == 1)
        end = struct.pack("!BBH", EVENTS[digit], 0x80 | (volume & 0x3F), steps * SAMPLES)
        for repeat in range(3):  # RFC 4733 2.5.1.4: the end packet is sent three times
            add(start + (steps - 1 + repeat) * PACKET_MS / 1000 + 0.0001, PT_EVENT, ts, end)
    return packets


def write_pcap(path: Path, packets: list[Packet], *, src_port: int = 6000, dst_port: int = 10000) -> Path:
    """Write ``packets`` as Ethernet/IPv4/UDP frames from 127.0.0.1 to 127.0.0.1."""
    out = bytearray(struct.pack("<IHHiIII", PCAP_MAGIC, 2, 4, 0, 0, 65535, LINKTYPE_ETHERNET))
    for ident, packet in enumerate(packets):
        udp = struct.pack("!HHHH", src_port, dst_port, 8 + len(packet.rtp), 0) + packet.rtp  # checksum 0: none
        ip = _ipv4(udp, ident)
        frame = b"\x00" * 12 + b"\x08\x00" + ip  # zero MACs, EtherType IPv4
        seconds = int(packet.at)
        out += struct.pack("<IIII", seconds, round((packet.at - seconds) * 1e6), len(frame), len(frame)) + frame
    Path(path).write_bytes(bytes(out))
    return Path(path)


def _ipv4(udp: bytes, ident: int) -> bytes:
    loopback = bytes([127, 0, 0, 1])
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), ident & 0xFFFF, 0, 64, 17, 0, loopback, loopback)
    total = sum(struct.unpack("!10H", header))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return header[:10] + struct.pack("!H", ~total & 0xFFFF) + header[12:] + udp


def read_pcap(path: Path) -> list[Packet]:
    """The RTP packets of a capture written by ``write_pcap`` (or SIPp's own captures)."""
    data = Path(path).read_bytes()
    magic, *_rest, link = struct.unpack("<IHHiIII", data[:24])
    if magic != PCAP_MAGIC or link != LINKTYPE_ETHERNET:
        raise ValueError(f"{path}: not a little-endian microsecond Ethernet pcap")
    packets, offset, first = [], 24, None
    while offset < len(data):
        seconds, micros, length, _ = struct.unpack("<IIII", data[offset : offset + 16])
        frame = data[offset + 16 : offset + 16 + length]
        offset += 16 + length
        at = seconds + micros / 1e6
        first = at if first is None else first
        ihl = (frame[14] & 0x0F) * 4
        packets.append(Packet(round(at - first, 6), frame[14 + ihl + 8 :]))
    return packets


def events_in(packets: list[Packet]) -> list[tuple[str, int, float]]:
    """``(digit, rtp timestamp, seconds)`` of every RFC 4733 event, from its first packet."""
    names = {v: k for k, v in EVENTS.items()}
    seen: dict[int, tuple[str, int, float]] = {}
    for packet in packets:
        pt = packet.rtp[1] & 0x7F
        if pt != PT_EVENT:
            continue
        ts = struct.unpack("!I", packet.rtp[4:8])[0]
        seen.setdefault(ts, (names[packet.rtp[12]], ts, packet.at))
    return list(seen.values())

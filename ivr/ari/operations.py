"""The one table of ARI operations ``AriClient``'s helpers use.

Each helper is named after its row and sends exactly this method and path,
so a test can hold the whole table against Asterisk's shipped API
description (``rest-api/*.json``) and catch a typo before a live call does.
"""

from __future__ import annotations

from typing import NamedTuple


class Operation(NamedTuple):
    method: str
    path: str  # template; {placeholders} are URL-quoted when filled


OPERATIONS: dict[str, Operation] = {
    # channels
    "answer": Operation("POST", "/channels/{channel_id}/answer"),
    "hangup": Operation("DELETE", "/channels/{channel_id}"),
    "ring": Operation("POST", "/channels/{channel_id}/ring"),
    "ring_stop": Operation("DELETE", "/channels/{channel_id}/ring"),
    "play": Operation("POST", "/channels/{channel_id}/play/{playback_id}"),
    "originate": Operation("POST", "/channels/{channel_id}"),
    "create_channel": Operation("POST", "/channels/create"),
    "dial": Operation("POST", "/channels/{channel_id}/dial"),
    "get_channel": Operation("GET", "/channels/{channel_id}"),
    "list_channels": Operation("GET", "/channels"),
    "set_var": Operation("POST", "/channels/{channel_id}/variable"),
    "get_var": Operation("GET", "/channels/{channel_id}/variable"),
    "continue_in_dialplan": Operation("POST", "/channels/{channel_id}/continue"),
    # bridges
    "create_bridge": Operation("POST", "/bridges/{bridge_id}"),
    "add_to_bridge": Operation("POST", "/bridges/{bridge_id}/addChannel"),
    "remove_from_bridge": Operation("POST", "/bridges/{bridge_id}/removeChannel"),
    "destroy_bridge": Operation("DELETE", "/bridges/{bridge_id}"),
    "list_bridges": Operation("GET", "/bridges"),
    "play_on_bridge": Operation("POST", "/bridges/{bridge_id}/play/{playback_id}"),
    "record_bridge": Operation("POST", "/bridges/{bridge_id}/record"),
    # playbacks and recordings
    "stop_playback": Operation("DELETE", "/playbacks/{playback_id}"),
    "stop_recording": Operation("POST", "/recordings/live/{name}/stop"),
    "stored_recording_file": Operation("GET", "/recordings/stored/{name}/file"),
    "delete_stored_recording": Operation("DELETE", "/recordings/stored/{name}"),
    # system
    "get_endpoint": Operation("GET", "/endpoints/{tech}/{resource}"),
    "list_endpoints": Operation("GET", "/endpoints/{tech}"),
    "asterisk_info": Operation("GET", "/asterisk/info"),
    "ping": Operation("GET", "/asterisk/ping"),
    "set_global": Operation("POST", "/asterisk/variable"),
    "application": Operation("GET", "/applications/{app}"),
    "subscribe": Operation("POST", "/applications/{app}/subscription"),
    "event_filter": Operation("PUT", "/applications/{app}/eventFilter"),
}

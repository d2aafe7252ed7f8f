"""The IVR engine: a pure state machine over menus defined as data.

``state + event -> new state + actions``. Nothing here performs I/O or
imports an adapter; ARI and Twilio adapters turn protocol messages into the
events below and carry out the actions.
"""

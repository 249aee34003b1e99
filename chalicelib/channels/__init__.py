"""Channels: parametric QR codes that say where a follower came from (posters, branches,
relationship managers' cards), with a reply and tags of their own, counted per code and day
from the messages stream, and a report per channel (`codes`, `tagging`, `report`)."""

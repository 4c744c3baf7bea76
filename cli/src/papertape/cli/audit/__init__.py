"""The auditor's tools over the event log: verify, replay, export, republish and fork."""

"""The email channel: parse inbound mail, recognise automatic mail, the SMTP listener and the
IMAP poller. Mail is stored raw first (intake.actions.store_raw), then enters through the one
door, intake.actions.accept_contact."""

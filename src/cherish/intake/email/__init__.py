"""The email channel: parse inbound mail, recognise automatic mail, the SMTP listener and the
IMAP poller. Everything enters through intake.actions (store_raw, then receive_contact)."""

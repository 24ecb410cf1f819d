"""Notifications that reach a member outside the open tab: e-mail digests and Web Push.

The in-app centre is services/notifications.py. This package holds what talks to the
outside: keys.py (VAPID and unsubscribe-token keys), email.py (SMTP or the log),
webpush.py (RFC 8291 encryption, RFC 8292 VAPID, the endpoint check), unsubscribe.py
(signed one-click tokens), and alerts.py: the jobs that decide, when an alert comes due,
whether it still should go (unread, not muted, wanted), and the jobs that send it.

Job kinds (rapport.jobs), named here so services can enqueue them without importing alerts.py:
"""

MESSAGE_ALERT = "message_alert"
"""Per conversation, keyed by its id: due `RAPPORT_EMAIL_DELAY` after a message; decides digests and pushes."""
NOTIFICATION_ALERT = "notification_alert"
"""Per in-app notification: its e-mail and push, when still relevant at the due time."""
SEND_EMAIL = "send_email"
"""One composed e-mail; retried with back-off while the SMTP server fails."""
SEND_PUSH = "send_push"
"""One push to one subscription, encrypted at send time."""

"""Signs a body the way the senders' own Python libraries do and prints the headers as JSON.

usage: sign.py <scheme> <secret> <body-file> <timestamp> [<message-id>]
schemes: standard_webhooks (the `standardwebhooks` package), slack (`slack_sdk`),
         hmac-sha256-hex, hmac-sha1-base64 (Python's own `hmac` module, for the generic scheme)
"""

import base64
import hashlib
import hmac
import json
import sys
from datetime import datetime, timezone


def main() -> None:
    scheme, secret, body_file, timestamp = sys.argv[1:5]
    message_id = sys.argv[5] if len(sys.argv) > 5 else "msg_test"
    with open(body_file, "rb") as f:
        body = f.read()
    if scheme == "standard_webhooks":
        from standardwebhooks.webhooks import Webhook

        signed_at = datetime.fromtimestamp(int(timestamp), tz=timezone.utc)
        signature = Webhook(secret).sign(message_id, signed_at, body.decode("utf-8"))
        headers = {"webhook-id": message_id, "webhook-timestamp": timestamp, "webhook-signature": signature}
    elif scheme == "slack":
        from slack_sdk.signature import SignatureVerifier

        signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
        headers = {"x-slack-request-timestamp": timestamp, "x-slack-signature": signature}
    elif scheme == "hmac-sha256-hex":
        content = timestamp.encode() + b"." + body
        headers = {"x-timestamp": timestamp, "x-signature": hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()}
    elif scheme == "hmac-sha1-base64":
        digest = hmac.new(secret.encode(), body, hashlib.sha1).digest()
        headers = {"x-signature": "sha1=" + base64.b64encode(digest).decode()}
    else:
        raise SystemExit(f"unknown scheme {scheme}")
    print(json.dumps(headers))


if __name__ == "__main__":
    main()

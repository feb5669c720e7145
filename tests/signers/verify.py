"""Verifies a Standard Webhooks message the way a receiver does, with the `standardwebhooks`
package: prints the verified payload as JSON and exits 0, or prints why and exits 1.

usage: verify.py <secret> <body-file> <headers-json-file>
"""

import json
import sys

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def main() -> None:
    secret, body_file, headers_file = sys.argv[1:4]
    with open(body_file, "rb") as f:
        body = f.read()
    with open(headers_file, "r", encoding="utf-8") as f:
        headers = json.load(f)
    try:
        payload = Webhook(secret).verify(body, headers)
    except WebhookVerificationError as error:
        print(f"rejected: {error}")
        sys.exit(1)
    print(json.dumps(payload))


if __name__ == "__main__":
    main()

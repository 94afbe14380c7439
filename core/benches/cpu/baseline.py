#!/usr/bin/env python3
"""The baseline of the CPU benchmark: a minimal drain with nothing but Python's standard
library (http.client + json), the way a studio would hand-write it. Token, every CLAIMED page
of the game (first=1000), each id marked FULFILLED in PATCHes of 100, a last page to confirm
nothing is left. No journal, no retries, no pacing: the least a drain can do.

usage: baseline.py HELIX_URL AUTH_URL CLIENT_ID CLIENT_SECRET GAME_ID
"""
import http.client
import json
import sys
import urllib.parse


def main():
    helix, auth, client_id, secret, game = sys.argv[1:6]
    helix = urllib.parse.urlsplit(helix)
    auth = urllib.parse.urlsplit(auth)
    conn = http.client.HTTPConnection(helix.hostname, helix.port)
    form = urllib.parse.urlencode(
        {"client_id": client_id, "client_secret": secret, "grant_type": "client_credentials"}
    )
    conn.request("POST", auth.path + "/token", form,
                 {"Content-Type": "application/x-www-form-urlencoded"})
    token = json.loads(conn.getresponse().read())["access_token"]
    headers = {"Client-Id": client_id, "Authorization": "Bearer " + token}
    path = helix.path + "/entitlements/drops"
    granted = 0
    while True:
        ids, after = [], None
        while True:
            query = {"game_id": game, "fulfillment_status": "CLAIMED", "first": "1000"}
            if after:
                query["after"] = after
            conn.request("GET", path + "?" + urllib.parse.urlencode(query), headers=headers)
            page = json.loads(conn.getresponse().read())
            ids.extend(e["id"] for e in page["data"])
            after = page["pagination"].get("cursor")
            if not after:
                break
        if not ids:
            break
        for start in range(0, len(ids), 100):
            body = json.dumps({"entitlement_ids": ids[start:start + 100],
                               "fulfillment_status": "FULFILLED"})
            conn.request("PATCH", path, body, dict(headers, **{"Content-Type": "application/json"}))
            for group in json.loads(conn.getresponse().read())["data"]:
                if group["status"] == "SUCCESS":
                    granted += len(group["ids"])
    print(json.dumps({"fulfilled": granted}))


if __name__ == "__main__":
    main()

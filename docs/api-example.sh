#!/usr/bin/env bash
# certdesk's API, as a deployment pipeline uses it: fetch the certificate in service and its
# private key, to install them on the servers that call Treezor. Needs curl and jq, and an API
# token with the read and custody scopes (Profile, API tokens; or manage.py create_api_token):
#
#   CERTDESK_URL=https://certdesk.example.com  CERTDESK_TOKEN=certdesk_...
#   ENVIRONMENT=production  PURPOSE=mtls  bash api-example.sh
#
# It writes client.pem (the certificate followed by its chain) and client.key (the key, mode
# 0600) in the current folder. Tested as written: tests/api/test_curl_example.py.
set -euo pipefail
api="$CERTDESK_URL/api/v1"
auth="Authorization: Bearer $CERTDESK_TOKEN"

# 1. Which certificate is in service for the environment and purpose.
id=$(curl -fsS -H "$auth" \
  "$api/certificates?environment=$ENVIRONMENT&purpose=$PURPOSE&in_service=true" |
  jq -r '.items[0].id // empty')
if [ -z "$id" ]; then
  echo "No certificate in service for $ENVIRONMENT $PURPOSE." >&2
  exit 1
fi

# 2. The certificate and its chain, in one file, as servers and curl expect them.
curl -fsS -H "$auth" "$api/certificates/$id" | jq -r '.full_chain_pem' > client.pem

# 3. Its private key, PKCS#1 PEM, readable by this user only. Never cached; recorded in
#    certdesk's audit log with the token's name.
umask 077
curl -fsS -H "$auth" -H "Content-Type: application/json" -d '{"format": "pem"}' \
  "$api/certificates/$id/key" -o client.key

echo "client.pem and client.key: certificate #$id for $ENVIRONMENT $PURPOSE."
# Then, for example: curl --cert client.pem --key client.key https://<api host>/...

"""certdesk's domain: keys, signing requests, certificates, renewals and revocations."""

// A real OpenID provider for certdesk's single sign-on tests: panva's oidc-provider (an
// OpenID Certified implementation), pinned in package-lock.json, installed by `npm ci`.
//
//   node provider.mjs --port 9000 --client-id certdesk --client-secret s3cret \
//     --redirect-uri http://127.0.0.1:8000/accounts/oidc/sso/login/callback/ \
//     --accounts accounts.json --roles-claim certdesk_roles
//
// One confidential client (client_secret_basic), authorization code only, PKCE with S256
// required. People sign in on oidc-provider's development pages: any login name that is a key
// of the accounts file, any password, then "Continue" to consent. The accounts file maps a
// login name to its claims ({"email": ..., "email_verified": true, "certdesk_roles": [...]}); it
// is read at every sign-in, so a test can change someone's claims between two logins.
//
// Every authorization request is written to stdout as one JSON line ({"event": "authorization",
// "query": {...}}), so a test can check what certdesk asked for (PKCE, nonce, state).

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: options } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true },
    accounts: { type: 'string' },
    'roles-claim': { type: 'string', default: 'certdesk_roles' },
  },
});

for (const required of ['port', 'client-id', 'client-secret', 'redirect-uri', 'accounts']) {
  if (!options[required]) {
    console.error(`provider.mjs: --${required} is required`);
    process.exit(2);
  }
}

const port = Number(options.port);
const issuer = `http://${options.host}:${port}`;
const rolesClaim = options['roles-claim'];

function log(event) {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

function readAccounts() {
  return JSON.parse(readFileSync(options.accounts, 'utf8'));
}

// A fresh signing key per run: nothing to keep, and tests never share one by accident.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key', use: 'sig', alg: 'RS256' };

const configuration = {
  clients: [
    {
      client_id: options['client-id'],
      client_secret: options['client-secret'],
      redirect_uris: options['redirect-uri'],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  pkce: { required: () => true },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username', rolesClaim],
  },
  features: {
    devInteractions: { enabled: true },
  },
  async findAccount(_ctx, accountId) {
    const accounts = readAccounts();
    if (!Object.hasOwn(accounts, accountId)) {
      return undefined;
    }
    return {
      accountId,
      async claims() {
        // Read again: the test may have changed the claims since the login started.
        return { sub: accountId, ...readAccounts()[accountId] };
      },
    };
  },
};

const provider = new Provider(issuer, configuration);

provider.use(async (ctx, next) => {
  if (ctx.path === '/auth' && ctx.method === 'GET') {
    log({ event: 'authorization', query: ctx.query });
  }
  await next();
});

provider.on('server_error', (_ctx, error) => {
  log({ event: 'server_error', message: String(error && error.message) });
});

const server = provider.listen(port, options.host, () => {
  log({ event: 'ready', issuer });
});

function stop() {
  server.close(() => process.exit(0));
  // Open keep-alive connections would hold close() up.
  setTimeout(() => process.exit(0), 2000).unref();
}

process.on('SIGTERM', stop);
process.on('SIGINT', stop);

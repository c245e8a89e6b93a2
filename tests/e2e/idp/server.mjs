// A real OpenID provider (node-oidc-provider) for Wharf's sign-in tests.
// Usage: node server.mjs CONFIG.json — the config names the port, the issuer, the clients and the users
// ({"login": {"password": "...", "claims": {...}}}). It prints "ready" once it listens.
// Users sign in on a small login page with their password; consent is implied (a grant is made for the
// scopes and claims the client asks for), as an organization's own provider would do.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const users = config.users;

const provider = new Provider(config.issuer, {
  clients: config.clients,
  pkce: { required: () => false },
  features: { devInteractions: { enabled: false } },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'preferred_username'], groups: ['groups'] },
  scopes: ['openid', 'email', 'profile', 'groups'],
  cookies: { keys: ['wharf-test-idp-cookie-key'] },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const user = users[id];
    if (!user) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...user.claims }; } };
  },
  async loadExistingGrant(ctx) {
    const { client, params, session } = ctx.oidc;
    const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
    grant.addOIDCScope(params.scope);
    grant.addOIDCClaims(['email', 'email_verified', 'name', 'preferred_username', 'groups']);
    await grant.save();
    return grant;
  },
});
provider.proxy = false;

const page = (uid, error) => `<!doctype html><html><head><title>Test IdP sign-in</title></head><body>
<h1>Sign in to the test IdP</h1>${error ? `<p id="error">${error}</p>` : ''}
<form method="post" action="/interaction/${uid}">
<label>Login <input name="login" id="login" required></label>
<label>Password <input type="password" name="password" id="password" required></label>
<button type="submit" id="submit">Sign in</button></form></body></html>`;

async function body(req) {
  let data = '';
  for await (const chunk of req) data += chunk;
  return new URLSearchParams(data);
}

async function interaction(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name !== 'login') {
    return provider.interactionFinished(req, res, {}, { mergeWithLastSubmission: true });
  }
  if (req.method === 'GET') {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    return res.end(page(uid));
  }
  const form = await body(req);
  const user = users[form.get('login')];
  if (!user || user.password !== form.get('password')) {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    return res.end(page(uid, 'Wrong login or password'));
  }
  return provider.interactionFinished(req, res, { login: { accountId: form.get('login') } }, { mergeWithLastSubmission: false });
}

const callback = provider.callback();
http.createServer((req, res) => {
  const match = req.url.match(/^\/interaction\/([A-Za-z0-9_-]+)$/);
  if (match) {
    interaction(req, res, match[1]).catch((err) => { res.writeHead(500); res.end(String(err)); });
    return;
  }
  callback(req, res);
}).listen(config.port, '127.0.0.1', () => console.log('ready'));

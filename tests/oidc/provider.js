// A real OpenID Connect provider (npm oidc-provider) for the tests: confidential clients
// (the portal's, and the staff console's when STAFF_CLIENT_ID is set), PKCE required, the
// library's own development login and consent pages. ACCOUNTS (JSON, optional) gives
// accounts' claims by login, e.g. {"olivia": {"email": ..., "name": ..., "roles": [...]}}.
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const client = (id, secret, uris) => ({
  client_id: id,
  client_secret: secret,
  redirect_uris: uris.split(' '),
  grant_types: ['authorization_code'],
  response_types: ['code'],
});
const clients = [client(process.env.CLIENT_ID, process.env.CLIENT_SECRET,
  process.env.REDIRECT_URIS)];
if (process.env.STAFF_CLIENT_ID) {
  clients.push(client(process.env.STAFF_CLIENT_ID, process.env.STAFF_CLIENT_SECRET,
    process.env.STAFF_REDIRECT_URIS));
}
const accounts = JSON.parse(process.env.ACCOUNTS || '{}');
const provider = new Provider(issuer, {
  clients,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  claims: { openid: ['sub'], email: ['email'], profile: ['name'], roles: ['roles'] },
  findAccount: async (_ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, email: `${id}@example.com`, ...(accounts[id] || {}) }),
  }),
});
provider.listen(port, '127.0.0.1', () => console.log(`ready ${issuer}`));

// Fetches a NONCE ticket and an SDK signature through the package, the way a Node back end would.
// Configuration comes from the environment; the defaults are the local emulator's app.
//   FACEID_ENDPOINT=http://127.0.0.1:8788 node www/node-example.mjs
import { FaceIdClient, fetchNonceTicket } from 'faceid-edge';

const { env } = process;
const appId = env.FACEID_APP_ID ?? 'IDAEMU01';
const endpoint = env.FACEID_ENDPOINT ?? 'http://127.0.0.1:8788';
const secret = env.FACEID_SECRET ?? 'emulator-secret-0123456789abcdef0123456789abcdef0123456789abcdef';

// One client per WBappid and process: it owns the access token and SIGN ticket.
const client = new FaceIdClient({ appId, secret, endpoint });

try {
  const ticket = await client.nonceTicket('demo_user');
  const expires = new Date(ticket.expires_at).toISOString();
  console.log(`NONCE ticket ${ticket.value} (expire_in ${ticket.expire_in} s, until ${expires})`);
  console.log('SDK start parameters:', await client.sdkSignature('demo_user'));

  // The single request, for callers that manage the access token themselves.
  const { value: accessToken } = await client.accessToken();
  const another = await fetchNonceTicket({ appId, accessToken, userId: 'demo_user', endpoint });
  console.log(`fetchNonceTicket: another one-time ticket ${another.value.slice(0, 8)}…`);
} catch (error) {
  console.error(`${error.name} (${error.kind}): ${error.message}`);
  process.exitCode = 1;
}

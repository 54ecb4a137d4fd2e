// Type-level tests of the published declarations: the calls below must compile, and each one
// marked as an expected error must not. Checked by `tsc -p tests/types` in the test script.
import {
  FaceIdClient, fetchNonceTicket, nonceString, sign,
  type CallbackVerdict, type Credential, type FaceIdError, type FaceIdErrorKind, type FaceRecord,
  type H5LoginUrl, type NonceTicket, type RegisteredOrder, type SdkSignature, type TokenSource,
} from 'faceid-edge';

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
const assertType = <T extends true>(): T => true as T;

async function results() {
  const ticket = await fetchNonceTicket({ appId: 'IDA1', accessToken: 't', userId: 'u' });
  assertType<Equals<typeof ticket, NonceTicket>>();
  assertType<Equals<NonceTicket['expire_in'], number>>();
  assertType<Equals<NonceTicket['expire_time'], string | undefined>>();
  const client = new FaceIdClient({ appId: 'IDA1', secret: 's', retries: 0, refreshAfterSeconds: 600 });
  assertType<Equals<Awaited<ReturnType<FaceIdClient['accessToken']>>, Credential>>();
  assertType<Equals<Awaited<ReturnType<FaceIdClient['signTicket']>>, Credential>>();
  assertType<Equals<Awaited<ReturnType<FaceIdClient['nonceTicket']>>, NonceTicket>>();
  assertType<Equals<Awaited<ReturnType<FaceIdClient['sdkSignature']>>, SdkSignature>>();
  const state: string = client.exportState();
  FaceIdClient.importState({ appId: 'IDA1', secret: 's' }, state);
  await client.nonceTicket('u', { signal: AbortSignal.timeout(1000) });
  const signature: string = sign(['a', 'b']);
  const nonce: string = nonceString();
  return [signature, nonce];
}

async function lifecycle(client: FaceIdClient, source: TokenSource) {
  const at: number = client.nextRefreshAt();
  const borrowed = new FaceIdClient({ appId: 'IDA1', tokenSource: source, endpoint: 'https://kyc1.qcloud.com' });
  assertType<Equals<Awaited<ReturnType<TokenSource['token']>>, Credential>>();
  return [at, borrowed];
}

async function verification(client: FaceIdClient) {
  const order = await client.registerOrder({
    orderNo: 'o1', userId: 'u', name: 'n', idNo: 'i', sourcePhoto: { base64: 'YQ==', type: 2 }, liveInterType: 1,
  });
  assertType<Equals<typeof order, RegisteredOrder>>();
  const login = await client.h5LoginUrl({
    orderNo: order.orderNo, faceId: order.faceId, userId: 'u', callbackUrl: 'https://p.example/cb',
    optimalDomain: order.optimalDomain, from: 'App', resultType: true,
  });
  assertType<Equals<typeof login, H5LoginUrl>>();
  for (const callback of ['https://p.example/cb?code=0', new URL(login.url), new URLSearchParams('code=0'), { code: '0', orderNo: 'o1', newSign: 'S' }]) {
    assertType<Equals<Awaited<ReturnType<typeof client.verifyCallback>>, CallbackVerdict>>();
    await client.verifyCallback(callback);
  }
  const record = await client.queryFaceRecord({ orderNo: 'o1', files: 'both' });
  assertType<Equals<typeof record, FaceRecord>>();
  assertType<Equals<FaceRecord['liveRate'], number | null>>();
  return record;
}

function errors(error: FaceIdError) {
  assertType<Equals<FaceIdErrorKind,
    'invalid_argument' | 'api' | 'http' | 'network' | 'timeout' | 'aborted' | 'bad_response'>>();
  const status: number | undefined = error.status;
  const wait: number | undefined = error.retry_after_ms;
  assertType<Equals<FaceIdError['cause'], unknown>>();
  return [status, wait];
}

function mistakes() {
  // @ts-expect-error userId is required
  fetchNonceTicket({ appId: 'IDA1', accessToken: 't' });
  // @ts-expect-error timeoutMs is a number
  fetchNonceTicket({ appId: 'IDA1', accessToken: 't', userId: 'u', timeoutMs: '100' });
  // @ts-expect-error the secret is required
  new FaceIdClient({ appId: 'IDA1' });
  // @ts-expect-error values are strings
  sign([1, 2]);
  // @ts-expect-error a secret and a tokenSource exclude each other
  new FaceIdClient({ appId: 'IDA1', secret: 's', tokenSource: { token: async () => ({ value: 't', expire_in: 1, expires_at: 1 }), rejected: async () => ({ value: 't', expire_in: 1, expires_at: 1 }) } });
  const client = new FaceIdClient({ appId: 'IDA1', secret: 's' });
  // @ts-expect-error files is one of none, photo, video, both
  client.queryFaceRecord({ orderNo: 'o1', files: 'all' });
  // @ts-expect-error the person's name is required
  client.registerOrder({ orderNo: 'o1', userId: 'u', idNo: 'i' });
  // @ts-expect-error resultType is a boolean
  client.h5LoginUrl({ orderNo: 'o1', faceId: 'f', userId: 'u', callbackUrl: 'https://p.example', resultType: 1 });
}

export { results, lifecycle, verification, errors, mistakes };

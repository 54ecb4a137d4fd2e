// Type-level tests of the published declarations: the calls below must compile, and each one
// marked as an expected error must not. Checked by `tsc -p tests/types` in the test script.
import {
  FaceIdClient, fetchNonceTicket, nonceString, sign,
  type Credential, type FaceIdError, type FaceIdErrorKind, type NonceTicket, type SdkSignature,
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

function errors(error: FaceIdError) {
  assertType<Equals<FaceIdErrorKind,
    'invalid_argument' | 'api' | 'http' | 'network' | 'timeout' | 'aborted' | 'bad_response'>>();
  const status: number | undefined = error.status;
  return status;
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
}

export { results, errors, mistakes };

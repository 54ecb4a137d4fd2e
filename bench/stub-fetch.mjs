// A global `fetch` that answers from memory, so a benchmark measures only the client's own work:
// validation, URL building, the timer and abort plumbing, reading the body stream, JSON parsing
// and the result object. Each call gets a fresh Response, as a real fetch would give.
// Plain ES module with web globals only: it also runs inside workerd (the cold-start worker).

export const STUB_APP_ID = 'IDABENCH';
export const STUB_TOKEN = 'benchTOKEN-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ';

// Shaped like the FaceID service's answers (see tests/emulator/README.md).
export const ticketAnswer = {
  code: '0',
  msg: '请求成功',
  bizSeqNo: '24072614384000000001000000000001',
  transactionTime: '20240726143840',
  success: true,
  tickets: [{ value: 'N'.repeat(64), expire_in: '120', expire_time: '20240726144040' }],
};

export const tokenAnswer = {
  code: '0',
  msg: '请求成功',
  bizSeqNo: '24072614384000000001000000000002',
  transactionTime: '20240726143840',
  success: true,
  access_token: STUB_TOKEN,
  expire_in: '7200',
  expire_time: '20240726163840',
};

const HEADERS = { 'content-type': 'application/json' };

/** The stub: the access_token answer for token requests, the ticket answer for everything else. */
export async function stubFetch(url) {
  const answer = String(url).includes('/api/oauth2/access_token') ? tokenAnswer : ticketAnswer;
  return new Response(JSON.stringify(answer), { status: 200, headers: HEADERS });
}

/** Replaces the global fetch; returns a function that puts the original back. */
export function installStubFetch() {
  const original = globalThis.fetch;
  globalThis.fetch = stubFetch;
  return () => {
    globalThis.fetch = original;
  };
}

/** fetchNonceTicket options for the stub (any endpoint works: nothing leaves the process). */
export function stubOptions(userId = 'bench_user') {
  return { appId: STUB_APP_ID, accessToken: STUB_TOKEN, userId, endpoint: 'http://127.0.0.1:9' };
}

/** FaceIdClient options for the stub. */
export const STUB_CLIENT_OPTIONS = { appId: STUB_APP_ID, secret: 'bench-secret', endpoint: 'http://127.0.0.1:9' };

// The TypeScript declarations of the JS API, appended by wasm-bindgen to the generated ones.
// Names and defaults follow the Rust side: tests/contracts.rs checks the error kinds, the defaults
// and limits, and the fields of every result against the crate.

/** Options of `fetchNonceTicket`. */
export interface NonceTicketOptions {
  /** The WBappid: 1-8 ASCII letters/digits. */
  appId: string;
  /** A current access token of that WBappid: 1-128 visible ASCII characters. */
  accessToken: string;
  /** The partner's user id: 1-30 characters from A-Z a-z 0-9 _ - */
  userId: string;
  /** Default "1.0.0"; 1-20 characters from A-Z a-z 0-9 . _ - */
  version?: string;
  /** Base URL, default "https://miniprogram-kyc.tencentcloudapi.com". https only (http to loopback). */
  endpoint?: string;
  /** Limit of the whole call in ms (every attempt, pause and the body); default 10000; integer 1..=120000. */
  timeoutMs?: number;
  /** Retries after quick failures (connection refused or reset before any answer, HTTP 429, 502, 503, 504), while time is left; default 2; 0..=5. */
  retries?: number;
  /** Aborts the request. */
  signal?: AbortSignal;
}

/** A one-time NONCE ticket. */
export interface NonceTicket {
  /** The ticket. */
  value: string;
  /** Seconds it lives, from the response: the authority on validity. */
  expire_in: number;
  /** The service's absolute expiry time, for display only. */
  expire_time?: string;
  /** The service's transactionTime. */
  transaction_time?: string;
  /** Milliseconds since the epoch: the clock just before sending + expire_in * 1000. */
  expires_at: number;
}

/** Settings of `new FaceIdClient()` and `FaceIdClient.importState()` besides the token's origin. */
export interface FaceIdClientSettings {
  /** The WBappid: 1-8 ASCII letters/digits. */
  appId: string;
  /** Base URL, default "https://miniprogram-kyc.tencentcloudapi.com". https only (http to loopback). */
  endpoint?: string;
  /** Default "1.0.0"; 1-20 characters from A-Z a-z 0-9 . _ - */
  version?: string;
  /** Limit of each request in ms (every attempt, pause and the body); default 10000; integer 1..=120000. */
  timeoutMs?: number;
  /** Retries of a ticket request after quick failures (connection refused or reset before any answer, HTTP 429, 502, 503, 504); default 2; 0..=5. Token requests are never retried. */
  retries?: number;
  /** Token age in seconds that triggers a refresh, default 1200 (20 min); 0 < n <= 86400. */
  refreshAfterSeconds?: number;
}

/** The owner of a WBappid's access token, for a client that does not mint it: say, the Durable Object that owns the token for a fleet of Workers isolates. */
export interface TokenSource {
  /** The token to use now. */
  token(): Promise<Credential>;
  /** The service refused `token`: the token to use now (the same one when the owner keeps it). */
  rejected(token: string): Promise<Credential>;
}

/** Options of `new FaceIdClient()`: the client mints the token from the secret (it is the token's owner), or takes it from a `tokenSource`. */
export type FaceIdClientOptions = FaceIdClientSettings & (
  | {
      /** The WBappid's secret: 1-64 visible ASCII characters. Never appears in any message or output. */
      secret: string;
      tokenSource?: undefined;
    }
  | {
      secret?: undefined;
      /** Where the token comes from; the client then sends no token request of its own. */
      tokenSource: TokenSource;
    }
);

/** An access token or SIGN ticket. */
export interface Credential {
  /** The token or ticket. */
  value: string;
  /** Seconds it lives, from the response that granted it. */
  expire_in: number;
  /** Milliseconds since the epoch: the clock just before it was requested + expire_in * 1000. */
  expires_at: number;
}

/** Options of `FaceIdClient.nonceTicket()`. */
export interface NonceTicketCallOptions {
  /** Aborts the call, including any wait for a token. */
  signal?: AbortSignal;
}

/** What the front end needs to start the FaceID app SDK. */
export interface SdkSignature {
  appId: string;
  userId: string;
  version: string;
  /** 32 random letters and digits. */
  nonce: string;
  /** SHA-1 (40 upper-case hex) of the sorted appId, userId, nonce, version and NONCE ticket. */
  sign: string;
  /** When the NONCE ticket behind the signature expires (ms since the epoch). */
  expires_at: number;
}

/** Options of `FaceIdClient.registerOrder()`. `name`, `idNo` and `sourcePhoto` are personal data: sent, never logged, cached or kept. */
export interface RegisterOrderOptions {
  /** The partner's order number, unique per verification: 1-32 ASCII letters and digits. */
  orderNo: string;
  /** The user being verified: 1-30 characters from A-Z a-z 0-9 _ - */
  userId: string;
  /** The person's real name: 1-64 characters, no control characters. */
  name: string;
  /** The person's ID-card number: 1-32 characters, no control characters. */
  idNo: string;
  /** A photo to compare against instead of the authority's: base64, type 1 (watermarked) or 2 (high definition). */
  sourcePhoto?: { base64: string; type: 1 | 2 };
  /** 1: real-time liveness detection only. */
  liveInterType?: 1;
  /** Aborts the call. */
  signal?: AbortSignal;
}

/** A registered verification order: what `h5LoginUrl()` needs. */
export interface RegisteredOrder {
  orderNo: string;
  /** The service's id of the order. */
  faceId: string;
  /** The host (with an optional port) of the H5 page for this order. */
  optimalDomain: string;
  /** The service's transactionTime. */
  transaction_time?: string;
}

/** Options of `FaceIdClient.h5LoginUrl()`. */
export interface H5LoginUrlOptions {
  orderNo: string;
  faceId: string;
  /** The order's user: the NONCE ticket is fetched for this id. */
  userId: string;
  /** Where the service sends the user back: https (http only to loopback), no credentials. */
  callbackUrl: string;
  /** Where the page is opened; default "browser". */
  from?: "browser" | "App";
  /** true: skip the service's own result page (resultType=1). */
  resultType?: boolean;
  /** The order's host[:port] from `registerOrder()`; default the endpoint's host. */
  optimalDomain?: string;
  /** Aborts the call. */
  signal?: AbortSignal;
}

/** A signed H5 login URL. */
export interface H5LoginUrl {
  /** Where to send the user's browser. */
  url: string;
  /** When its one-time NONCE ticket expires (ms since the epoch). */
  expires_at: number;
}

/** The parameters of the service's redirect back to the callback URL. */
export interface CallbackParams {
  code?: string;
  orderNo?: string;
  h5faceId?: string;
  newSign?: string;
}

/** What a callback proves. */
export interface CallbackVerdict {
  /** newSign matches the current or the previous SIGN ticket: the values came from the service. */
  verified: boolean;
  /** verified, and code is "0". */
  passed: boolean;
  orderNo?: string;
  code?: string;
}

/** Options of `FaceIdClient.queryFaceRecord()`. */
export interface FaceRecordOptions {
  orderNo: string;
  /** Which files to fetch with the result; default "none". With files, the answer may be up to 16 MiB. */
  files?: "none" | "photo" | "video" | "both";
  /** Aborts the call. */
  signal?: AbortSignal;
}

/** The result of a verification. `photo` and `video` are personal data: handed over, never kept. */
export interface FaceRecord {
  orderNo: string;
  /** code is "0": the same person, alive. */
  passed: boolean;
  code: string;
  msg: string;
  /** The liveness score; null when a failed check has none. */
  liveRate: number | null;
  /** The face comparison score; null when a failed check has none. */
  similarity: number | null;
  /** When the check took place (yyyyMMddHHmmss); null when a failed check has none. */
  occurredTime: string | null;
  /** base64. */
  photo?: string;
  /** base64. */
  video?: string;
  sdkVersion?: string;
}

/** The stable classes of failure. */
export type FaceIdErrorKind =
  | "invalid_argument" | "api" | "http" | "network" | "timeout" | "aborted" | "bad_response";

/** Every rejection of this package is an `Error` of this shape. */
export interface FaceIdError extends Error {
  name: "FaceIdError";
  kind: FaceIdErrorKind;
  /** What the host threw or rejected with: the signal's reason (aborted), or, for a network error the platform or a token source caused, their exception. Never a credential of this package. */
  cause?: unknown;
  /** A failure the client remembers: ms until it sends that request again (until then, calls that need it fail at once with this error). */
  retry_after_ms?: number;
  /** network: what the platform reported, credentials removed. */
  detail?: string;
  /** bad_response: what was wrong with the answer. */
  reason?: string;
  /** invalid_argument: the option at fault, e.g. "userId". */
  field?: string;
  /** api: the service's code, as a string. */
  code?: string;
  /** api: the service's message. */
  msg?: string;
  /** api: the service's transactionTime. */
  transaction_time?: string;
  /** http: the HTTP status. */
  status?: number;
  /** timeout: the limit that was exceeded. */
  timeoutMs?: number;
}

// The hop secret check: every request's PARAMS carry KALLITHEA_ISAPI_SECRET (SECRET_PARAM)
// and connection.ts asks this check whether it matches. Candidates of the secret's length
// are compared with timingSafeEqual, so the time taken says nothing about which bytes
// matched; the length alone is no secret (the DLL makes a fixed-length random hex string). This runs on
// every request, so it hashes nothing and allocates one buffer.
import { timingSafeEqual } from 'node:crypto';

export type SecretCheck = (candidate: string | undefined) => boolean;

export function createSecretCheck(secret: string): SecretCheck {
  if (secret === '') throw new Error('the hop secret must not be empty');
  const expected = Buffer.from(secret, 'latin1');
  return (candidate) =>
    candidate !== undefined &&
    Buffer.byteLength(candidate, 'latin1') === expected.length &&
    timingSafeEqual(Buffer.from(candidate, 'latin1'), expected);
}

// The hop secret check: every request's PARAMS carry KALLITHEA_ISAPI_SECRET (SECRET_PARAM)
// and connection.ts asks this check whether it matches. Both sides are hashed first so
// timingSafeEqual compares equal lengths, and the time taken says nothing about the secret.
import { createHash, timingSafeEqual } from 'node:crypto';

export type SecretCheck = (candidate: string | undefined) => boolean;

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'latin1').digest();
}

export function createSecretCheck(secret: string): SecretCheck {
  if (secret === '') throw new Error('the hop secret must not be empty');
  const expected = digest(secret);
  return (candidate) => candidate !== undefined && timingSafeEqual(digest(candidate), expected);
}

// What IIS puts into HTTPS_KEYSIZE, HTTPS_SECRETKEYSIZE, HTTPS_SERVER_ISSUER and
// HTTPS_SERVER_SUBJECT, read from a Node TLS socket.
import type { TLSSocket } from 'node:tls';

export interface TlsFacts {
  /** Bits of the session cipher's key (128, 256). */
  keySize: number;
  /** Bits of the server certificate's public key. */
  secretKeySize: number;
  issuer: string;
  subject: string;
}

function cipherBits(name: string): number {
  if (/CHACHA20|AES_?256|AES256/i.test(name)) return 256;
  if (/AES_?128|AES128/i.test(name)) return 128;
  return 0;
}

// IIS formats a distinguished name as "C=US, O=Example, CN=host".
function distinguishedName(fields: Record<string, string | string[] | undefined> | undefined): string {
  if (fields === undefined) return '';
  const parts: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) parts.push(`${key}=${item}`);
  }
  return parts.join(', ');
}

// Read once per connection, not for every keep-alive request: getCertificate() builds a new
// object from the certificate on each call. The cipher and the server's certificate are
// fixed for the connection, except through a TLS 1.2 renegotiation, which this ignores.
const known = new WeakMap<TLSSocket, TlsFacts>();

export function tlsFacts(socket: TLSSocket): TlsFacts {
  let facts = known.get(socket);
  if (facts === undefined) {
    facts = readTlsFacts(socket);
    known.set(socket, facts);
  }
  return facts;
}

function readTlsFacts(socket: TLSSocket): TlsFacts {
  const cipher = socket.getCipher();
  const certificate = socket.getCertificate();
  const cert = certificate !== null && 'subject' in certificate ? certificate : undefined;
  return {
    keySize: cipherBits(cipher?.standardName ?? cipher?.name ?? ''),
    secretKeySize: cert !== undefined && 'bits' in cert && typeof cert.bits === 'number' ? cert.bits : 0,
    issuer: distinguishedName(cert?.issuer as Record<string, string> | undefined),
    subject: distinguishedName(cert?.subject as Record<string, string> | undefined),
  };
}

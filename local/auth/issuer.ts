// The local stand-in for Cognito: an RS256 key pair kept under <dataDir>/issuer/ that signs and verifies access tokens.
import { randomUUID } from "node:crypto";
import { link, mkdir, readFile, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type CryptoKey,
  type JWK,
  type JWTPayload,
  SignJWT,
  decodeProtectedHeader,
  errors,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
} from "jose";

export const ISSUER = "https://local.customer-master/issuer";
export const AUDIENCE = "customer-master";
export const DEFAULT_TTL_SECONDS = 3600;
const ALG = "RS256";

export interface MintClaims {
  tenant: string;
  sub: string;
  roles?: string[];
  dept?: string;
  /** Lifetime in seconds (default 1 h). Zero or negative mints an already expired token, for tests. */
  ttlSeconds?: number;
}

export interface MintedToken {
  token: string;
  /** ISO-8601 expiry time. */
  expiresAt: string;
}

interface StoredKey {
  kid: string;
  privateJwk: JWK;
}

type KeyLike = CryptoKey | Uint8Array;

export interface TokenIssuer {
  readonly issuer: string;
  readonly audience: string;
  mint(claims: MintClaims): Promise<MintedToken>;
  /** Verifies like API Gateway's JWT authorizer: RS256 signature, issuer, audience, expiry (and nbf). Throws when invalid. */
  verify(token: string): Promise<JWTPayload>;
  /** The public key set, as Cognito serves it at /.well-known/jwks.json. */
  jwks(): Promise<{ keys: JWK[] }>;
}

/** Reads the key pair from `<dataDir>/issuer/`, creating it on first use; concurrent first users agree on one key. */
async function loadOrCreateKey(dir: string): Promise<StoredKey> {
  const file = join(dir, "signing-key.json");
  try {
    return JSON.parse(await readFile(file, "utf8")) as StoredKey;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { privateKey } = await generateKeyPair(ALG, { extractable: true });
  const stored: StoredKey = { kid: randomUUID(), privateJwk: await exportJWK(privateKey) };
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, JSON.stringify(stored), { mode: 0o600 });
  try {
    // link() fails when the file exists: whoever linked first wins, everyone else reads that key.
    await link(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  return JSON.parse(await readFile(file, "utf8")) as StoredKey;
}

function publicPart(jwk: JWK): JWK {
  const { kty, n, e } = jwk;
  return { kty, n, e };
}

/** Creates an issuer whose keys live in `<dataDir>/issuer/`; the key is loaded lazily on first mint/verify. */
export function createIssuer(dataDir: string): TokenIssuer {
  const dir = join(dataDir, "issuer");
  let keys: Promise<{ kid: string; privateKey: KeyLike; publicKey: KeyLike; publicJwk: JWK }> | undefined;
  const load = () => {
    keys ??= (async () => {
      const stored = await loadOrCreateKey(dir);
      const publicJwk = { ...publicPart(stored.privateJwk), kid: stored.kid, alg: ALG, use: "sig" };
      return {
        kid: stored.kid,
        privateKey: (await importJWK(stored.privateJwk, ALG)) as KeyLike,
        publicKey: (await importJWK(publicJwk, ALG)) as KeyLike,
        publicJwk,
      };
    })();
    keys.catch(() => (keys = undefined));
    return keys;
  };

  return {
    issuer: ISSUER,
    audience: AUDIENCE,
    async mint(claims) {
      const k = await load();
      const now = Math.floor(Date.now() / 1000);
      const exp = now + (claims.ttlSeconds ?? DEFAULT_TTL_SECONDS);
      const payload: JWTPayload = { tenant: claims.tenant, roles: claims.roles ?? [], token_use: "access" };
      if (claims.dept !== undefined) payload.dept = claims.dept;
      const token = await new SignJWT(payload)
        .setProtectedHeader({ alg: ALG, kid: k.kid, typ: "JWT" })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject(claims.sub)
        .setIssuedAt(now)
        .setExpirationTime(exp)
        .setJti(randomUUID())
        .sign(k.privateKey);
      return { token, expiresAt: new Date(exp * 1000).toISOString() };
    },
    async verify(token) {
      const k = await load();
      // Like the JWT authorizer, pick the key by the token's kid: a token from another key set fails here.
      if (decodeProtectedHeader(token).kid !== k.kid) throw new errors.JWKSNoMatchingKey();
      const { payload } = await jwtVerify(token, k.publicKey, {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: [ALG],
        requiredClaims: ["exp"],
        clockTolerance: 0,
      });
      return payload;
    },
    async jwks() {
      const k = await load();
      return { keys: [k.publicJwk] };
    },
  };
}

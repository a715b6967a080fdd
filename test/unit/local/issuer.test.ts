// The local token issuer: signs like Cognito, verifies like API Gateway's JWT authorizer, keeps its key on disk.
import { SignJWT, decodeJwt, generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";
import { AUDIENCE, ISSUER, createIssuer } from "../../../local/auth/issuer.ts";
import { tempDir } from "./helpers.ts";

describe("token issuer", () => {
  it("mints a token that verifies, with the claims, issuer, audience and a one-hour expiry", async () => {
    const issuer = createIssuer(await tempDir());
    const { token, expiresAt } = await issuer.mint({ tenant: "t1", sub: "u1", roles: ["admin", "sales"], dept: "d1" });
    const claims = await issuer.verify(token);
    expect(claims).toMatchObject({
      tenant: "t1",
      sub: "u1",
      roles: ["admin", "sales"],
      dept: "d1",
      iss: ISSUER,
      aud: AUDIENCE,
    });
    expect(claims.exp! - claims.iat!).toBe(3600);
    expect(new Date(expiresAt).getTime()).toBe(claims.exp! * 1000);
  });

  it("refuses an expired token", async () => {
    const issuer = createIssuer(await tempDir());
    const { token } = await issuer.mint({ tenant: "t1", sub: "u1", ttlSeconds: -1 });
    await expect(issuer.verify(token)).rejects.toThrow(/exp/);
  });

  it("refuses a token signed by another key, even with the same kid", async () => {
    const issuer = createIssuer(await tempDir());
    const { token } = await issuer.mint({ tenant: "t1", sub: "u1" });
    const { kid } = (await issuer.jwks()).keys[0]!;
    const { privateKey } = await generateKeyPair("RS256");
    const forged = await new SignJWT({ ...decodeJwt(token) })
      .setProtectedHeader({ alg: "RS256", kid })
      .sign(privateKey);
    await expect(issuer.verify(forged)).rejects.toThrow(/signature/);
  });

  it("refuses a tampered payload, garbage and a token from another issuer key", async () => {
    const issuer = createIssuer(await tempDir());
    const { token } = await issuer.mint({ tenant: "t1", sub: "u1", roles: ["viewer"] });
    const [h, , s] = token.split(".");
    const payload = Buffer.from(JSON.stringify({ ...decodeJwt(token), roles: ["admin"] })).toString("base64url");
    await expect(issuer.verify(`${h}.${payload}.${s}`)).rejects.toThrow();
    await expect(issuer.verify("not.a.token")).rejects.toThrow();

    const other = createIssuer(await tempDir());
    const { token: fromOther } = await other.mint({ tenant: "t1", sub: "u1" });
    await expect(issuer.verify(fromOther)).rejects.toThrow();
  });

  it("keeps its key in the data dir, so tokens outlive a restart and the CLI's tokens are accepted", async () => {
    const dir = await tempDir();
    const { token } = await createIssuer(dir).mint({ tenant: "t1", sub: "u1" });
    await expect(createIssuer(dir).verify(token)).resolves.toMatchObject({ tenant: "t1" });
  });

  it("agrees on one key when two first users race", async () => {
    const dir = await tempDir();
    const [a, b] = [createIssuer(dir), createIssuer(dir)];
    const [ta] = await Promise.all([a.mint({ tenant: "t", sub: "u" }), b.mint({ tenant: "t", sub: "u" })]);
    await expect(createIssuer(dir).verify(ta.token)).resolves.toBeDefined();
    expect((await a.jwks()).keys[0]!.kid).toBe((await b.jwks()).keys[0]!.kid);
  });
});

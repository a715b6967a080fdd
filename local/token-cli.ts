// `npm run token -- --tenant t1 --role admin [--role sales] [--sub u1] [--dept d1] [--ttl 3600]`: prints a token signed
// with the local issuer's key under $DATA_DIR (default .data/), so it works with or without the server running.
import { parseArgs } from "node:util";
import { createIssuer } from "./auth/issuer.ts";

function fail(message: string): never {
  process.stderr.write(`error: ${message}\n`);
  process.stderr.write(
    "usage: npm run token -- --tenant <id> --role <role> [--role <role>] [--sub <user>] [--dept <id>] [--ttl <seconds>]\n",
  );
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      tenant: { type: "string" },
      role: { type: "string", multiple: true },
      sub: { type: "string" },
      dept: { type: "string" },
      ttl: { type: "string" },
    },
    strict: true,
  }));
} catch (err) {
  fail((err as Error).message);
}

if (!values.tenant) fail("--tenant is required");
const ttlSeconds = values.ttl === undefined ? undefined : Number(values.ttl);
if (ttlSeconds !== undefined && !Number.isInteger(ttlSeconds)) fail("--ttl must be a whole number of seconds");

const issuer = createIssuer(process.env.DATA_DIR || ".data/");
const { token } = await issuer.mint({
  tenant: values.tenant,
  sub: values.sub ?? "local-user",
  roles: values.role ?? [],
  dept: values.dept,
  ttlSeconds,
});
process.stdout.write(`${token}\n`);

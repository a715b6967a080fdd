// Free TCP ports on loopback for the local services (DynamoDB Local, s3rver, SQS endpoint).
import { createServer } from "node:net";

/** Asks the OS for a free port on `host` by binding port 0 and releasing it. */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error("could not get a free port"))));
    });
  });
}

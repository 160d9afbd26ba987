// Helpers of the queue's tests and benchmark (not exported by the package):
// where Debian's redis-server is, and a free loopback port to start it on.
import { existsSync } from "node:fs";
import { createServer } from "node:net";

/** The redis-server binary, when installed. */
export const REDIS_SERVER: string | undefined = [
  "/usr/bin/redis-server",
  "/usr/local/bin/redis-server",
].find((p) => existsSync(p));

/** A TCP port free on loopback now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

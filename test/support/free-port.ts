import { createServer } from 'node:net';

/**
 * A loopback port that was free a moment ago. For ports the code under test
 * cannot pick itself (REST_PORT 0 means "off"), or that a parent must know
 * before it starts a child server.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

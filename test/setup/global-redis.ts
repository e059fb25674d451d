// Node-side globalSetup: a real redis-server (Debian package) on an ephemeral loopback port,
// behind scripts/upstash-bridge.mjs speaking the Upstash REST protocol, so the Upstash
// rate-limit backend is tested end to end from inside workerd. Nothing is written to disk
// (--save '' --appendonly no) and both processes stop with the run.
//
// redis-server missing: with CI set (or REQUIRE_REDIS=1) the run fails here with the fix;
// otherwise the Upstash suite is skipped with a loud warning, so `npm test` still passes on a
// machine with only Node.js and npm (the project's two-commands promise).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, connect } from 'node:net';
import type { TestProject } from 'vitest/node';
import { startUpstashBridge } from '../../scripts/upstash-bridge.mjs';

export interface UpstashTestBridge {
  url: string;
  token: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** null when redis-server is not installed and the run is not required to have it. */
    upstashBridge: UpstashTestBridge | null;
  }
}

const INSTALL_HINT =
  'redis-server is not installed, so the Upstash rate-limit backend cannot be tested against real Redis.\n' +
  '  Debian/Ubuntu: sudo apt-get update && sudo apt-get install -y redis-server   (or: bash scripts/ci-install-redis.sh)\n' +
  '  macOS: brew install redis\n' +
  'Set REDIS_SERVER_BIN=/path/to/redis-server if it is installed outside PATH.';

function findRedisServer(): string | null {
  const bin = process.env.REDIS_SERVER_BIN || 'redis-server';
  const probe = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? bin : null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForRedis(port: number, child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('data', (d) => {
        socket.destroy();
        resolve(d.toString().startsWith('+PONG'));
      });
      socket.once('error', () => resolve(false));
      socket.once('connect', () => socket.write('PING\r\n'));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not answer PING on port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const bin = findRedisServer();
  if (!bin) {
    if ((process.env.CI && process.env.CI !== 'false') || process.env.REQUIRE_REDIS === '1') throw new Error(INSTALL_HINT);
    console.warn(`\n\x1b[33m⚠ ${INSTALL_HINT}\n⚠ Skipping the Upstash backend tests (CI installs redis-server and runs them).\x1b[0m\n`);
    project.provide('upstashBridge', null);
    return undefined;
  }
  const port = await freePort();
  const child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    await waitForRedis(port, child);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${stderr}`, { cause: err });
  }
  const token = randomBytes(24).toString('base64url');
  const bridge = await startUpstashBridge({ redisPort: port, token });
  project.provide('upstashBridge', { url: bridge.url, token });
  // Belt and braces: redis-server does not die with its parent, so stop it on any exit path.
  const stop = () => child.exitCode === null && child.kill('SIGTERM');
  process.once('exit', stop);
  return async () => {
    stop();
    process.off('exit', stop);
    await Promise.race([bridge.close(), new Promise((r) => setTimeout(r, 1_000))]);
  };
}

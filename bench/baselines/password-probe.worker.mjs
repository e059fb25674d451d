// Measures the app's own password verification (src/security/password.ts, argon2id at the
// configured parameters) inside workerd. Local workerd lets performance.now() advance during
// synchronous work (production freezes it between I/O, a Spectre mitigation); the bench checks
// that with a busy loop first and reports `timersAdvance: false` instead of a bogus zero.
/* global Response */
import { hashPassword, PASSWORD_PARAMS, verifyPassword } from '../../src/security/password';

const PASSWORD = 'bench-probe-Correct-Horse-42';

function timersAdvance() {
  const t0 = performance.now();
  let x = 0;
  for (let i = 0; i < 2_000_000; i++) x += i % 7;
  return { advanced: performance.now() - t0 > 0, sink: x };
}

export default {
  async fetch(request) {
    const n = Math.min(50, Math.max(1, Number(new URL(request.url).searchParams.get('n')) || 5));
    const stored = await hashPassword(PASSWORD); // also instantiates the wasm once
    const samples = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const ok = await verifyPassword(PASSWORD, stored);
      samples.push(performance.now() - t0);
      if (!ok) return new Response('{"error":"verify failed"}', { status: 500 });
    }
    return Response.json({ params: PASSWORD_PARAMS, timersAdvance: timersAdvance().advanced, samples });
  },
};

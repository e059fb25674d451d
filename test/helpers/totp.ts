/**
 * TOTP codes in tests are computed from the wall clock: a test that crosses a 30-second step
 * boundary between computing a code and the server checking it sees its "previous step" code
 * become two steps old. Waiting until at least `marginMs` of the current step is left makes
 * the codes a test computes next deterministic.
 */
export async function clearOfStepBoundary(marginMs = 8_000): Promise<void> {
  const left = 30_000 - (Date.now() % 30_000);
  if (left < marginMs) await new Promise((r) => setTimeout(r, left + 100));
}

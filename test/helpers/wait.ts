/** How often a waiting test looks again; short, since each look is cheap next to what it waits for. */
const POLL_MS = 25;

/**
 * Polls `condition` until it returns a truthy value (which it returns), or throws after `timeoutMs` naming `what`.
 * Tests wait on observable state with this instead of sleeping for "long enough".
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  timeoutMs: number,
  what: string | (() => string),
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

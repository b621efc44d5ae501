/**
 * Contract section 8: an attempt immediately, then retries after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h.
 * Seconds of the schedule; `WEBHOOK_RETRY_BASE_MS` says how many milliseconds one of them lasts (1000 in service).
 */
export const RETRY_SCHEDULE_SECONDS = [0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600] as const;

export const MAX_ATTEMPTS = RETRY_SCHEDULE_SECONDS.length;

/** An endpoint whose every attempt has failed for this long is disabled (scaled like the schedule). */
export const DISABLE_AFTER_FAILING_SECONDS = 5 * 24 * 3600;

/**
 * Milliseconds until the next attempt after `attemptsMade` failed attempts, or null when none is left
 * (the delivery has failed for good).
 */
export function nextAttemptDelayMs(attemptsMade: number, retryBaseMs: number): number | null {
  if (attemptsMade >= MAX_ATTEMPTS) return null;
  return Math.round(RETRY_SCHEDULE_SECONDS[attemptsMade] * retryBaseMs);
}

export function failingWindowMs(retryBaseMs: number): number {
  return DISABLE_AFTER_FAILING_SECONDS * retryBaseMs;
}

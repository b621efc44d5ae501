import type { InvitationView, UserView } from '../invitation-view';
import type { InviteFailure } from './failures';

/** What one person is told: invited, or the one failure the priority table chose. */
export type InviteResult =
  | {
      kind: 'invited';
      index: number;
      email: string;
      existingUser: boolean;
      /** Null in a dry run for a person not yet on the platform. */
      user: UserView | null;
      /** Null in a dry run. */
      invitation: InvitationView | null;
    }
  | { kind: 'failed'; index: number; email: string | null; failure: InviteFailure };

export interface BulkInviteOutcome {
  total: number;
  successful: number;
  failed: number;
  dryRun: boolean;
  results: InviteResult[];
}

export function summarize(results: InviteResult[], dryRun: boolean): BulkInviteOutcome {
  let successful = 0;
  for (const result of results) if (result.kind === 'invited') successful++;
  return { total: results.length, successful, failed: results.length - successful, dryRun, results };
}

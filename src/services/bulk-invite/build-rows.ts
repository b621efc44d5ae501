import { randomUUID } from 'node:crypto';
import type { RequiredEntityData } from '@mikro-orm/core';
import {
  EmailStatus,
  InvitationStatus,
  MembershipStatus,
  StoredEmailStatus,
  StoredInvitationStatus,
  type Invitation,
  type Membership,
  type MembershipGroup,
  type MembershipPosition,
  type MembershipRole,
  type User,
} from '../../entities';
import type { InvitationView, UserView } from '../invitation-view';
import { newSecretTokens, placeholderTokenHashes } from '../tokens';
import type { InvitePlan } from './resolve-invites';

export interface RowOptions {
  tenantId: string;
  /** `sub` of the inviting token. */
  invitedBy: string;
  /** The inviting token's `name` claim, if any. */
  inviterName?: string | null;
  now: Date;
  expiresAt: Date;
  sendEmail: boolean;
  /** How many of the invitations (in input order) fit in the tenant's email budget; the rest are FAILED. */
  emailsGranted: number;
  /** The reason recorded on invitations past the email budget. */
  overBudgetReason: string;
  redirectUrl: string | null;
  message: string | null;
  /** The bulk request: one id shared by its invitations. */
  batchId: string;
  /**
   * Set when the caller sends the invitations itself (`sendEmail: false`, not a dry run): each token is minted
   * here, only its hash stored, and the link shown once in the response. Otherwise the email worker mints it.
   */
  acceptUrlBase: string | null;
}

/** A membership of this tenant invited again (it was revoked or removed): updated in place, links replaced. */
export type MembershipReinvite = Pick<RequiredEntityData<Membership>, 'id' | 'firstName' | 'lastName' | 'nickName' | 'userType' | 'ipi' | 'phone' | 'country' | 'manager' | 'invitedBy' | 'createdAt' | 'metadata'> & { id: string };

export interface InviteRows {
  users: RequiredEntityData<User>[];
  memberships: RequiredEntityData<Membership>[];
  reinvitedMemberships: MembershipReinvite[];
  roleLinks: RequiredEntityData<MembershipRole>[];
  groupLinks: RequiredEntityData<MembershipGroup>[];
  positionLinks: RequiredEntityData<MembershipPosition>[];
  invitations: RequiredEntityData<Invitation>[];
}

export interface InvitedPerson {
  index: number;
  email: string;
  existingUser: boolean;
  user: UserView;
  invitation: InvitationView;
}

const byKey = <T>(key: (row: T) => string) => (a: T, b: T) => {
  const ka = key(a);
  const kb = key(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
};

/**
 * The rows of the accepted people and what each of them is told. Pure but for fresh ids and placeholder
 * token hashes. Rows are sorted by their unique keys so that concurrent requests touching the same people
 * take their row locks in one order (no deadlock between two bulk invites).
 */
export function buildInviteRows(plans: readonly InvitePlan[], options: RowOptions): { rows: InviteRows; invited: InvitedPerson[] } {
  const { tenantId, invitedBy, now, expiresAt } = options;
  const rows: InviteRows = { users: [], memberships: [], reinvitedMemberships: [], roleLinks: [], groupLinks: [], positionLinks: [], invitations: [] };
  const invited: InvitedPerson[] = [];
  const links = options.acceptUrlBase !== null ? newSecretTokens(plans.length) : null;
  const tokenHashes = links ? links.map((l) => l.hash) : placeholderTokenHashes(plans.length);
  // Every row of one request shares these instants: formatted once, not once per person.
  const expiresAtText = expiresAt.toISOString();
  const nowText = now.toISOString();

  plans.forEach((plan, i) => {
    const { person, existingUser, previousMembership } = plan;
    const userId = existingUser?.id ?? randomUUID();
    const email = existingUser?.email ?? person.email!;
    if (!existingUser) rows.users.push({ id: userId, email, emailNormalized: person.emailNormalized!, createdAt: now });

    // Names belong to the person's membership in this tenant: another tenant's names are never shown here.
    const firstName = person.firstName ?? previousMembership?.firstName ?? null;
    const lastName = person.lastName ?? previousMembership?.lastName ?? null;
    const membershipId = previousMembership?.id ?? randomUUID();
    const details = {
      firstName,
      lastName,
      nickName: person.nickName,
      userType: person.userType,
      ipi: person.ipi,
      phone: person.phone,
      country: person.country,
      manager: plan.managerMembershipId,
      metadata: person.metadata,
      invitedBy,
      createdAt: now,
    };
    if (previousMembership) rows.reinvitedMemberships.push({ id: membershipId, ...details });
    else rows.memberships.push({ id: membershipId, tenant: tenantId, user: userId, status: MembershipStatus.INVITED, ...details });
    for (const role of plan.roleIds) rows.roleLinks.push({ tenant: tenantId, membership: membershipId, role });
    for (const { groupId, isPrimaryOrg } of plan.groups) rows.groupLinks.push({ tenant: tenantId, membership: membershipId, group: groupId, isPrimaryOrg });
    for (const position of plan.positionIds) rows.positionLinks.push({ tenant: tenantId, membership: membershipId, position });

    const withinBudget = i < options.emailsGranted;
    const emailStatus = !options.sendEmail ? StoredEmailStatus.NOT_REQUESTED : withinBudget ? StoredEmailStatus.QUEUED : StoredEmailStatus.FAILED;
    const emailError = options.sendEmail && !withinBudget ? options.overBudgetReason : null;
    const invitationId = randomUUID();
    rows.invitations.push({
      id: invitationId,
      tenant: tenantId,
      membership: membershipId,
      email,
      // Without a link to show, the real token is minted by the email worker at send time; no plaintext token is ever stored.
      tokenHash: tokenHashes[i],
      status: StoredInvitationStatus.PENDING,
      expiresAt,
      redirectUrl: options.redirectUrl,
      message: options.message,
      invitedBy,
      inviterName: options.inviterName ?? null,
      batchId: options.batchId,
      locale: person.locale,
      metadata: person.metadata,
      emailStatus,
      emailAttempts: 0,
      emailNextAttemptAt: emailStatus === StoredEmailStatus.QUEUED ? now : null,
      emailError,
      createdAt: now,
    });
    invited.push({
      index: person.index,
      email,
      existingUser: existingUser !== null,
      user: { id: userId, email, firstName, lastName },
      invitation: {
        id: invitationId,
        email,
        status: InvitationStatus.PENDING,
        emailStatus: emailStatus as unknown as EmailStatus,
        emailError,
        expiresAt: expiresAtText,
        createdAt: nowText,
        redirectUrl: options.redirectUrl,
        batchId: options.batchId,
        invitedBy,
        acceptedAt: null,
        locale: person.locale,
        metadata: person.metadata,
        acceptUrl: links ? `${options.acceptUrlBase}${links[i].token}` : null,
      },
    });
  });

  rows.users.sort(byKey((u) => u.emailNormalized));
  rows.memberships.sort(byKey((m) => m.user as string));
  rows.reinvitedMemberships.sort(byKey((m) => m.id));
  return { rows, invited };
}

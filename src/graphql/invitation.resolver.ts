import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { BulkInviteUsersInput } from './bulk-invite.input';
import {
  AlreadyMember,
  BulkInviteUsersPayload,
  DuplicateInBatch,
  InvalidInviteInput,
  UnknownReference,
  UserInvited,
} from './bulk-invite.payload';
import { InvitationStatus } from './enums';
import { AcceptInvitationPayload, Invitation, InvitationConnection } from './invitation.types';
import type { BulkInviteOutcome, BulkInviteService, InviteResult } from '../services/bulk-invite.service';
import type { InvitationService } from '../services/invitation.service';
import type { GraphQLContext } from './graphql-context';

/** Union members must be class instances for type-graphql to resolve their type. */
function toGraphQLResult(result: InviteResult) {
  if (result.kind === 'invited') return Object.assign(new UserInvited(), result);
  const base = { index: result.index, email: result.email, code: result.code, message: result.message };
  switch (result.code) {
    case 'DUPLICATE_IN_BATCH':
      return Object.assign(new DuplicateInBatch(), base, { firstIndex: result.firstIndex ?? 0 });
    case 'ALREADY_MEMBER':
      return Object.assign(new AlreadyMember(), base);
    case 'UNKNOWN_USER':
    case 'UNKNOWN_ROLE':
    case 'UNKNOWN_GROUP':
    case 'UNKNOWN_POSITION':
    case 'UNKNOWN_MANAGER':
      return Object.assign(new UnknownReference(), base, { field: result.field ?? null, unknown: result.unknown ?? [] });
    default:
      return Object.assign(new InvalidInviteInput(), base, { field: result.field ?? null });
  }
}

export function toGraphQLPayload(outcome: BulkInviteOutcome): BulkInviteUsersPayload {
  return { ...outcome, results: outcome.results.map(toGraphQLResult) };
}

@Resolver()
export class InvitationResolver {
  constructor(
    private readonly bulkInvites: BulkInviteService,
    private readonly invitationService: InvitationService,
  ) {}

  @Mutation(() => BulkInviteUsersPayload, { description: 'Requires users:invite. One result per user, in input order.' })
  async bulkInviteUsers(
    @Ctx() { ctx }: GraphQLContext,
    @Arg('input', () => BulkInviteUsersInput) input: BulkInviteUsersInput,
  ): Promise<BulkInviteUsersPayload> {
    return toGraphQLPayload(await this.bulkInvites.bulkInviteUsers(ctx, input));
  }

  @Query(() => InvitationConnection, { description: 'Requires users:read. Newest first; first <= 500.' })
  async invitations(
    @Ctx() { ctx }: GraphQLContext,
    @Arg('status', () => InvitationStatus, { nullable: true }) status: InvitationStatus | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50 }) first: number,
    @Arg('after', () => String, { nullable: true }) after: string | null,
  ): Promise<InvitationConnection> {
    const page = await this.invitationService.list(ctx, { status, first, after });
    return { totalCount: page.totalCount, nodes: page.nodes, pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor } };
  }

  @Mutation(() => Invitation, {
    description: 'Requires users:invite. New token (the old link stops working) and a new email; on a revoked invitation, invites the person again.',
  })
  resendInvitation(@Ctx() { ctx }: GraphQLContext, @Arg('id', () => ID) id: string) {
    return this.invitationService.resend(ctx, id);
  }

  @Mutation(() => Invitation, { description: 'Requires users:invite. The link stops working.' })
  revokeInvitation(@Ctx() { ctx }: GraphQLContext, @Arg('id', () => ID) id: string) {
    return this.invitationService.revoke(ctx, id);
  }

  @Mutation(() => AcceptInvitationPayload, { description: 'No JWT: the token from the email is the credential.' })
  async acceptInvitation(@Ctx() { ctx }: GraphQLContext, @Arg('token', () => String) token: string) {
    const { invitation, redirectUrl } = await this.invitationService.accept(ctx.em, token);
    return { invitation, redirectUrl };
  }
}

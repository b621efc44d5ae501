import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { BulkInviteUsersInput } from './bulk-invite.input';
import { BulkInviteUsersPayload } from './bulk-invite.payload';
import { toBulkInvitePayload } from './bulk-invite.mapping';
import { InvitationStatus } from './enums';
import { AcceptInvitationPayload, InvitationType, InvitationConnection } from './invitation.types';
import type { BulkInviteService } from '../services/bulk-invite';
import type { InvitationService } from '../services/invitation.service';
import type { RequestContext } from '../context';

@Resolver()
export class InvitationResolver {
  constructor(
    private readonly bulkInvites: BulkInviteService,
    private readonly invitationService: InvitationService,
  ) {}

  @Mutation(() => BulkInviteUsersPayload, { description: 'Requires users:invite. One result per user, in input order.' })
  async bulkInviteUsers(
    @Ctx() ctx: RequestContext,
    @Arg('input', () => BulkInviteUsersInput, { description: 'The people to invite and the options for all of them.' }) input: BulkInviteUsersInput,
  ): Promise<BulkInviteUsersPayload> {
    return await toBulkInvitePayload(await this.bulkInvites.bulkInviteUsers(ctx, input));
  }

  @Query(() => InvitationConnection, { description: 'Requires users:read. Newest first; first <= 500.' })
  async invitations(
    @Ctx() ctx: RequestContext,
    @Arg('status', () => InvitationStatus, { nullable: true, description: 'Only invitations in this status; all when omitted.' }) status: InvitationStatus | null,
    @Arg('email', () => String, { nullable: true, description: 'Exact match, case-insensitive.' }) email: string | null,
    @Arg('batchId', () => ID, { nullable: true, description: 'Only the invitations of this bulk request (Invitation.batchId).' }) batchId: string | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50, description: 'Page size, 0 to 500.' }) first: number,
    @Arg('after', () => String, { nullable: true, description: 'The previous page\'s pageInfo.endCursor; omit for the first page.' }) after: string | null,
  ): Promise<InvitationConnection> {
    const page = await this.invitationService.list(ctx, { status, email, batchId, first, after });
    return { totalCount: page.totalCount, nodes: page.nodes, pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor } };
  }

  @Mutation(() => InvitationType, {
    description: 'Requires users:invite. New token (the old link stops working) and a new email; on a revoked invitation, invites the person again.',
  })
  resendInvitation(
    @Ctx() ctx: RequestContext,
    @Arg('id', () => ID, { description: 'The Invitation id.' }) id: string,
    @Arg('force', () => Boolean, { nullable: true, defaultValue: false, description: 'Send even though the last email to this address bounced (emailStatus BOUNCED).' })
    force: boolean,
  ) {
    return this.invitationService.resend(ctx, id, { force: force ?? false });
  }

  @Mutation(() => InvitationType, { description: 'Requires users:invite. The link stops working.' })
  revokeInvitation(@Ctx() ctx: RequestContext, @Arg('id', () => ID, { description: 'The Invitation id.' }) id: string) {
    return this.invitationService.revoke(ctx, id);
  }

  @Mutation(() => AcceptInvitationPayload, { description: 'No JWT: the token from the email is the credential.' })
  async acceptInvitation(@Ctx() ctx: RequestContext, @Arg('token', () => String, { description: 'The token from the link in the invitation email (its `token` query parameter).' }) token: string) {
    const { invitation, redirectUrl } = await this.invitationService.accept(ctx, token);
    return { invitation, redirectUrl };
  }
}

import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { InvitationType } from './invitation.types';
import { InvitationActionPayload, MemberConnection, MemberStatus, MemberType, UpdateMemberInput } from './member.types';
import type { InvitationService } from '../services/invitation.service';
import type { MemberService } from '../services/member.service';
import type { RequestContext } from '../context';

/** The management API: members, one invitation, invitations by email, bulk resend and revoke. */
@Resolver()
export class MemberResolver {
  constructor(
    private readonly memberService: MemberService,
    private readonly invitationService: InvitationService,
  ) {}

  @Query(() => InvitationType, { nullable: true, description: 'Requires users:read. Null when the id is not an invitation of this tenant.' })
  invitation(@Ctx() ctx: RequestContext, @Arg('id', () => ID, { description: 'The invitation id (Invitation.id), case-insensitive.' }) id: string) {
    return this.invitationService.get(ctx, id);
  }

  @Query(() => MemberConnection, {
    description: 'Requires users:read. Newest first; first <= 500; search is a prefix of the email, first name or last name (case-insensitive).',
  })
  async members(
    @Ctx() ctx: RequestContext,
    @Arg('status', () => MemberStatus, { nullable: true, description: 'Only members in this status; every status (REMOVED too) when omitted.' })
    status: MemberStatus | null,
    @Arg('search', () => String, {
      nullable: true,
      description: 'A prefix of the email, first name or last name, case-insensitive; at most 254 characters. Blank or omitted: no search.',
    })
    search: string | null,
    @Arg('roleId', () => ID, { nullable: true, description: 'Only members holding this role; an id of no role of this tenant gives an empty page.' })
    roleId: string | null,
    @Arg('groupId', () => ID, { nullable: true, description: 'Only members in this group; an id of no group of this tenant gives an empty page.' })
    groupId: string | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50, description: 'Page size, 0 to 500.' }) first: number,
    @Arg('after', () => String, { nullable: true, description: "The previous page's pageInfo.endCursor; omit for the first page." }) after: string | null,
  ): Promise<MemberConnection> {
    const page = await this.memberService.list(ctx, { status, search, roleId, groupId, first, after });
    return { totalCount: page.totalCount, nodes: page.nodes, pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor } };
  }

  @Query(() => MemberType, { nullable: true, description: 'Requires users:read. Null when the user is not a member of this tenant.' })
  member(@Ctx() ctx: RequestContext, @Arg('userId', () => ID, { description: 'The User id (Member.user.id), not a membership id.' }) userId: string) {
    return this.memberService.get(ctx, userId);
  }

  @Mutation(() => MemberType, { description: 'Requires tenant:admin. roleIds, groups, positionIds and managerId replace.' })
  updateMember(
    @Ctx() ctx: RequestContext,
    @Arg('userId', () => ID, { description: 'The User id of the member to change; NOT_FOUND when they are not a member of this tenant, BAD_USER_INPUT when REMOVED.' })
    userId: string,
    @Arg('input', () => UpdateMemberInput, { description: 'The fields to change; those left out are kept.' }) input: UpdateMemberInput,
  ) {
    return this.memberService.update(ctx, userId, input);
  }

  @Mutation(() => MemberType, { description: 'Requires tenant:admin. Status REMOVED; a pending invitation is revoked.' })
  removeMember(
    @Ctx() ctx: RequestContext,
    @Arg('userId', () => ID, { description: 'The User id of the member to remove; NOT_FOUND when they are not a member of this tenant. Removing a REMOVED member changes nothing.' })
    userId: string,
  ) {
    return this.memberService.remove(ctx, userId);
  }

  @Mutation(() => InvitationActionPayload, { description: 'Requires users:invite. At most 1,000 ids; one result per id, in order.' })
  async resendInvitations(
    @Ctx() ctx: RequestContext,
    @Arg('ids', () => [ID], { description: 'Invitation ids, at most 1,000 (more is BAD_USER_INPUT); results[i] answers ids[i].' }) ids: string[],
    @Arg('force', () => Boolean, {
      nullable: true,
      defaultValue: false,
      description: 'Send even to addresses whose last email bounced; without it such an id answers code EMAIL_BOUNCED.',
    })
    force: boolean,
  ): Promise<InvitationActionPayload> {
    return { results: await this.invitationService.resendMany(ctx, ids, { force: force ?? false }) };
  }

  @Mutation(() => InvitationActionPayload, { description: 'Requires users:invite. At most 1,000 ids; one result per id, in order.' })
  async revokeInvitations(
    @Ctx() ctx: RequestContext,
    @Arg('ids', () => [ID], { description: 'Invitation ids, at most 1,000 (more is BAD_USER_INPUT); results[i] answers ids[i].' }) ids: string[],
  ): Promise<InvitationActionPayload> {
    return { results: await this.invitationService.revokeMany(ctx, ids) };
  }
}

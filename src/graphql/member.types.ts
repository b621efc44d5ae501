import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { MembershipStatus } from '../entities/enums';
import { GroupAssignmentInput } from './bulk-invite.input';
import { GroupType, PositionType, RoleType } from './catalog.types';
import { InvitationType, PageInfo, UserType } from './invitation.types';

export { MembershipStatus as MemberStatus };
registerEnumType(MembershipStatus, {
  name: 'MemberStatus',
  description: 'INVITED, ACTIVE and SUSPENDED are current members; REMOVED ones (removed, or their invitation revoked) can be invited again.',
  valuesConfig: {
    INVITED: { description: 'Invited and not yet accepted. A current member: holds a seat, and inviting them again is ALREADY_MEMBER.' },
    ACTIVE: { description: 'Accepted their invitation. A current member holding a seat.' },
    SUSPENDED: { description: 'Set from ACTIVE by updateMember (and back to ACTIVE the same way). Still a current member holding a seat.' },
    REMOVED: {
      description: 'Removed by removeMember, or their invitation was revoked. Holds no seat; bulkInviteUsers (or resending the revoked invitation) invites them again.',
    },
  },
});

@ObjectType('MemberGroup', { description: 'A group the member is in.' })
export class MemberGroupType {
  @Field(() => GroupType, { description: 'The group.' }) group!: GroupType;
  @Field(() => Boolean, { description: "Whether this is the member's primary organisation (at most one group is)." }) isPrimaryOrg!: boolean;
}

@ObjectType('Member', { description: "A person's membership in the token's tenant: their status there and what this tenant recorded about them." })
export class MemberType {
  @Field(() => UserType, { description: "The person; firstName and lastName are this tenant's." }) user!: UserType;
  @Field(() => MembershipStatus, { description: 'Where the membership stands; see MemberStatus.' }) status!: MembershipStatus;
  @Field(() => [RoleType], { description: 'The roles of this tenant the member holds; empty when none.' }) roles!: RoleType[];
  @Field(() => [MemberGroupType], { description: 'The groups of this tenant the member is in; empty when none.' }) groups!: MemberGroupType[];
  @Field(() => [PositionType], { description: 'The positions of this tenant the member holds; empty when none.' }) positions!: PositionType[];
  @Field(() => UserType, { nullable: true, description: "The member's manager (another member of this tenant); null for none." })
  manager!: UserType | null;
  @Field(() => String, { nullable: true, description: 'Nickname as this tenant recorded it; null when none was given.' }) nickName!: string | null;
  @Field(() => String, { nullable: true, description: 'Free-form kind of user (e.g. "artist") as this tenant recorded it; null when none was given.' })
  userType!: string | null;
  @Field(() => String, { nullable: true, description: 'E.164.' }) phone!: string | null;
  @Field(() => String, { nullable: true, description: 'ISO 3166-1 alpha-2.' }) country!: string | null;
  @Field(() => JSONResolver, { nullable: true, description: 'The metadata given when the person was invited (InviteUserInput.metadata).' })
  metadata!: Record<string, unknown> | null;
  @Field(() => DateTimeResolver, { description: 'When the person first became a member of this tenant (was first invited).' }) createdAt!: string;
  @Field(() => DateTimeResolver, { nullable: true, description: 'When the person accepted their invitation; null while INVITED, and again after being invited anew.' })
  activatedAt!: string | null;
  @Field(() => InvitationType, { nullable: true, description: "The member's most recent invitation." }) invitation!: InvitationType | null;
}

@ObjectType({ description: 'One page of members, newest first.' })
export class MemberConnection {
  @Field(() => Int, { description: 'How many members match the filters, across all pages.' }) totalCount!: number;
  @Field(() => [MemberType], { description: 'The members of this page.' }) nodes!: MemberType[];
  @Field(() => PageInfo, { description: 'How to get the next page.' }) pageInfo!: PageInfo;
}

@InputType({ description: 'A field left out is kept, null clears it; roleIds, groups and positionIds replace the member\'s lists.' })
export class UpdateMemberInput {
  @Field(() => String, { nullable: true, description: "Given name, at most 100 characters. This tenant's only." }) firstName?: string | null;
  @Field(() => String, { nullable: true, description: "Family name, at most 100 characters. This tenant's only." }) lastName?: string | null;
  @Field(() => String, { nullable: true, description: 'Nickname, at most 100 characters.' }) nickName?: string | null;
  @Field(() => String, { nullable: true, description: 'Free-form kind of user (e.g. "artist"), at most 100 characters.' }) userType?: string | null;
  @Field(() => String, { nullable: true, description: 'Normalised to E.164; without "+", country is the region.' }) phone?: string | null;
  @Field(() => String, { nullable: true, description: 'ISO 3166-1 alpha-2.' }) country?: string | null;
  @Field(() => [ID], { nullable: true, description: "The member's roles, by id, replacing the current ones; at most 50; [] or null removes them all." })
  roleIds?: string[] | null;
  @Field(() => [GroupAssignmentInput], {
    nullable: true,
    description: "The member's groups, replacing the current ones; at most 50, at most one primary; [] or null removes them all.",
  })
  groups?: GroupAssignmentInput[] | null;
  @Field(() => [ID], { nullable: true, description: "The member's positions, by id, replacing the current ones; at most 50; [] or null removes them all." })
  positionIds?: string[] | null;
  @Field(() => ID, { nullable: true, description: 'The User id of a current member of this tenant, not the member itself.' })
  managerId?: string | null;
  @Field(() => MembershipStatus, { nullable: true, description: 'ACTIVE to SUSPENDED and back; removal is removeMember.' })
  status?: MembershipStatus | null;
}

@ObjectType({ description: 'What resendInvitations or revokeInvitations did with one id.' })
export class InvitationActionResult {
  @Field(() => ID, { description: 'The id as given.' }) id!: string;
  @Field(() => Boolean, { description: 'Whether the invitation was resent or revoked (revoking a revoked one is ok and changes nothing).' }) ok!: boolean;
  @Field(() => String, {
    nullable: true,
    description:
      'When not ok: NOT_FOUND (no invitation of this tenant), DUPLICATE_ID (the same id earlier in the list), ALREADY_ACCEPTED, SUPERSEDED (resend: the person was invited again since; resend the newer invitation), RATE_LIMITED (resend: cooldown, daily cap or email budget) or SEAT_LIMIT_REACHED (resend of a revoked invitation with no free seat). Null when ok.',
  })
  code!: string | null;
  @Field(() => String, { nullable: true, description: 'Why not, for people; null when ok.' }) message!: string | null;
  @Field(() => InvitationType, { nullable: true, description: 'The invitation as it is now; null when the id names none (NOT_FOUND, DUPLICATE_ID).' })
  invitation!: InvitationType | null;
}

@ObjectType({ description: 'What resendInvitations or revokeInvitations did, id by id.' })
export class InvitationActionPayload {
  @Field(() => [InvitationActionResult], { description: 'One per id, in order.' }) results!: InvitationActionResult[];
}

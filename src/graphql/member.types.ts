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
});

@ObjectType('MemberGroup')
export class MemberGroupType {
  @Field(() => GroupType) group!: GroupType;
  @Field(() => Boolean) isPrimaryOrg!: boolean;
}

@ObjectType('Member')
export class MemberType {
  @Field(() => UserType, { description: "The person; firstName and lastName are this tenant's." }) user!: UserType;
  @Field(() => MembershipStatus) status!: MembershipStatus;
  @Field(() => [RoleType]) roles!: RoleType[];
  @Field(() => [MemberGroupType]) groups!: MemberGroupType[];
  @Field(() => [PositionType]) positions!: PositionType[];
  @Field(() => UserType, { nullable: true }) manager!: UserType | null;
  @Field(() => String, { nullable: true }) nickName!: string | null;
  @Field(() => String, { nullable: true }) userType!: string | null;
  @Field(() => String, { nullable: true, description: 'E.164.' }) phone!: string | null;
  @Field(() => String, { nullable: true, description: 'ISO 3166-1 alpha-2.' }) country!: string | null;
  @Field(() => JSONResolver, { nullable: true, description: 'The metadata given when the person was invited (InviteUserInput.metadata).' })
  metadata!: Record<string, unknown> | null;
  @Field(() => DateTimeResolver) createdAt!: string;
  @Field(() => DateTimeResolver, { nullable: true }) activatedAt!: string | null;
  @Field(() => InvitationType, { nullable: true, description: "The member's most recent invitation." }) invitation!: InvitationType | null;
}

@ObjectType()
export class MemberConnection {
  @Field(() => Int) totalCount!: number;
  @Field(() => [MemberType]) nodes!: MemberType[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}

@InputType({ description: 'A field left out is kept, null clears it; roleIds, groups and positionIds replace the member\'s lists.' })
export class UpdateMemberInput {
  @Field(() => String, { nullable: true }) firstName?: string | null;
  @Field(() => String, { nullable: true }) lastName?: string | null;
  @Field(() => String, { nullable: true }) nickName?: string | null;
  @Field(() => String, { nullable: true }) userType?: string | null;
  @Field(() => String, { nullable: true, description: 'Normalised to E.164; without "+", country is the region.' }) phone?: string | null;
  @Field(() => String, { nullable: true, description: 'ISO 3166-1 alpha-2.' }) country?: string | null;
  @Field(() => [ID], { nullable: true }) roleIds?: string[] | null;
  @Field(() => [GroupAssignmentInput], { nullable: true }) groups?: GroupAssignmentInput[] | null;
  @Field(() => [ID], { nullable: true }) positionIds?: string[] | null;
  @Field(() => ID, { nullable: true, description: 'The User id of a current member of this tenant, not the member itself.' })
  managerId?: string | null;
  @Field(() => MembershipStatus, { nullable: true, description: 'ACTIVE to SUSPENDED and back; removal is removeMember.' })
  status?: MembershipStatus | null;
}

@ObjectType()
export class InvitationActionResult {
  @Field(() => ID, { description: 'The id as given.' }) id!: string;
  @Field(() => Boolean) ok!: boolean;
  @Field(() => String, { nullable: true, description: 'When not ok: NOT_FOUND, DUPLICATE_ID, ALREADY_ACCEPTED, SUPERSEDED or RATE_LIMITED.' })
  code!: string | null;
  @Field(() => String, { nullable: true }) message!: string | null;
  @Field(() => InvitationType, { nullable: true }) invitation!: InvitationType | null;
}

@ObjectType()
export class InvitationActionPayload {
  @Field(() => [InvitationActionResult], { description: 'One per id, in order.' }) results!: InvitationActionResult[];
}

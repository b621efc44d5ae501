import { JSONResolver } from 'graphql-scalars';
import { Field, ID, InputType } from 'type-graphql';

@InputType()
export class GroupAssignmentInput {
  @Field(() => ID) groupId!: string;
  @Field(() => Boolean, { nullable: true, defaultValue: false }) isPrimaryOrg?: boolean | null;
}

@InputType()
export class InviteUserInput {
  @Field(() => String, { nullable: true, description: 'Required unless existingUserId is given.' }) email?: string | null;
  @Field(() => ID, { nullable: true, description: 'Invite an already registered user by id.' }) existingUserId?: string | null;
  @Field(() => String, { nullable: true }) firstName?: string | null;
  @Field(() => String, { nullable: true }) lastName?: string | null;
  @Field(() => String, { nullable: true }) nickName?: string | null;
  @Field(() => String, { nullable: true }) userType?: string | null;
  @Field(() => String, { nullable: true, description: 'IPI name number: 9 to 11 digits.' }) ipi?: string | null;
  @Field(() => String, { nullable: true, description: 'A role of the tenant, by name (case-insensitive).' }) role?: string | null;
  @Field(() => [ID], { nullable: true }) roleIds?: string[] | null;
  @Field(() => [GroupAssignmentInput], { nullable: true }) groups?: GroupAssignmentInput[] | null;
  @Field(() => ID, { nullable: true, description: 'The User id of a member of the same tenant.' }) managerId?: string | null;
  @Field(() => [ID], { nullable: true }) positionIds?: string[] | null;
  @Field(() => String, { nullable: true, description: 'Normalised to E.164; without "+", country is the region.' })
  phone?: string | null;
  @Field(() => String, { nullable: true, description: 'ISO 3166-1 alpha-2.' }) country?: string | null;
  @Field(() => JSONResolver, { nullable: true, description: 'Your own data about the person: a JSON object of at most 4 KiB, stored on the member (else INVALID_INPUT).' })
  metadata?: unknown;
  @Field(() => String, { nullable: true, description: 'BCP 47 language tag, e.g. de-CH (else INVALID_INPUT); stored canonical on the invitation.' })
  locale?: string | null;
}

@InputType()
export class BulkInviteUsersInput {
  @Field(() => ID, { nullable: true, description: "Optional; must equal the token's tenant when given." })
  tenantId?: string | null;
  @Field(() => [InviteUserInput]) users!: InviteUserInput[];
  @Field(() => Boolean, { nullable: true, defaultValue: true, description: 'false: memberships and invitations are created, no email is sent.' })
  sendEmail?: boolean | null;
  @Field(() => String, { nullable: true, description: 'Where the accept page sends the person afterwards (allow-listed).' })
  redirectUrl?: string | null;
  @Field(() => String, { nullable: true, description: 'Personal note shown in the invitation email (plain text, at most 2,000 characters).' })
  message?: string | null;
  @Field(() => Boolean, { nullable: true, defaultValue: false, description: 'Validate and report exactly as a real run would; write and send nothing.' })
  dryRun?: boolean | null;
  @Field(() => String, { nullable: true, description: 'Same key and tenant within 24 h: the stored payload again, nothing re-done.' })
  idempotencyKey?: string | null;
}

import { JSONResolver } from 'graphql-scalars';
import { Field, ID, InputType } from 'type-graphql';

@InputType({ description: 'One group to add the person to.' })
export class GroupAssignmentInput {
  @Field(() => ID, { description: 'A group of the tenant (see the `groups` query).' }) groupId!: string;
  @Field(() => Boolean, {
    nullable: true,
    defaultValue: false,
    description: 'Whether this is the person\'s primary organisation. At most one group per person may be primary.',
  })
  isPrimaryOrg?: boolean | null;
}

@InputType({ description: 'One person to invite. Only email (or existingUserId) is required; every other field is optional.' })
export class InviteUserInput {
  @Field(() => String, {
    nullable: true,
    description: 'The person\'s email address, at most 254 characters; identifies them platform-wide, case-insensitively. Required unless existingUserId is given.',
  })
  email?: string | null;
  @Field(() => ID, {
    nullable: true,
    description: 'Invite an already registered user by id instead of (or as well as) by email; with both, they must name the same user.',
  })
  existingUserId?: string | null;
  @Field(() => String, { nullable: true, description: 'Given name, at most 100 characters. Stored on this tenant\'s membership only.' })
  firstName?: string | null;
  @Field(() => String, { nullable: true, description: 'Family name, at most 100 characters. Stored on this tenant\'s membership only.' })
  lastName?: string | null;
  @Field(() => String, { nullable: true, description: 'Nickname, at most 100 characters (royalti.io\'s nickName).' }) nickName?: string | null;
  @Field(() => String, { nullable: true, description: 'Free-form kind of user, at most 100 characters (royalti.io\'s userType, e.g. "artist").' })
  userType?: string | null;
  @Field(() => String, { nullable: true, description: 'IPI name number: 9 to 11 digits.' }) ipi?: string | null;
  @Field(() => String, { nullable: true, description: 'A role of the tenant, by name (case-insensitive).' }) role?: string | null;
  @Field(() => [ID], { nullable: true, description: 'Roles of the tenant to give the person, by id (see the `roles` query); at most 50.' })
  roleIds?: string[] | null;
  @Field(() => [GroupAssignmentInput], { nullable: true, description: 'Groups of the tenant to add the person to; at most 50, at most one primary.' })
  groups?: GroupAssignmentInput[] | null;
  @Field(() => ID, {
    nullable: true,
    description: 'The User id of a member of the same tenant (invited or active); not someone invited in the same request.',
  })
  managerId?: string | null;
  @Field(() => [ID], { nullable: true, description: 'Positions of the tenant to give the person, by id (see the `positions` query); at most 50.' })
  positionIds?: string[] | null;
  @Field(() => String, { nullable: true, description: 'Normalised to E.164; without "+", country is the region.' })
  phone?: string | null;
  @Field(() => String, { nullable: true, description: 'ISO 3166-1 alpha-2.' }) country?: string | null;
  @Field(() => JSONResolver, { nullable: true, description: 'Your own data about the person: a JSON object of at most 4 KiB, stored on the member (else INVALID_INPUT).' })
  metadata?: unknown;
  @Field(() => String, { nullable: true, description: 'BCP 47 language tag, e.g. de-CH (else INVALID_INPUT); stored canonical on the invitation.' })
  locale?: string | null;
}

@InputType({ description: 'A bulk invite: the people, and options that apply to all of them.' })
export class BulkInviteUsersInput {
  @Field(() => ID, { nullable: true, description: "Optional; must equal the token's tenant when given." })
  tenantId?: string | null;
  @Field(() => [InviteUserInput], {
    description: 'The people to invite, at most BULK_INVITE_MAX_USERS (10,000 by default). results[i] answers users[i].',
  })
  users!: InviteUserInput[];
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

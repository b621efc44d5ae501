import { createUnionType, Field, Int, InterfaceType, ObjectType } from 'type-graphql';
import { InviteErrorCode } from './enums';
import { InvitationType, UserType } from './invitation.types';

type Code = keyof typeof InviteErrorCode;

@ObjectType({ description: 'The person was invited (or, in a dry run, would be).' })
export class UserInvited {
  @Field(() => Int, { description: 'The position of this person in the input users list (0-based).' }) index!: number;
  @Field(() => String, { nullable: true, description: 'Always set on UserInvited.' }) email!: string;
  @Field(() => Boolean, { description: 'true when the person was already on the platform (another tenant, or an earlier revoked invitation) and was added to this tenant.' })
  existingUser!: boolean;
  @Field(() => UserType, { nullable: true, description: 'Null in a dry run for a person not yet on the platform.' })
  user!: UserType | null;
  @Field(() => InvitationType, { nullable: true, description: 'Null in a dry run.' }) invitation!: InvitationType | null;
}

@InterfaceType({ description: 'Every failure of one person implements this.' })
export abstract class InviteError {
  @Field(() => Int, { description: 'The position of this person in the input users list (0-based).' }) index!: number;
  @Field(() => String, { nullable: true, description: 'The email as given in the input, or null when none was given.' }) email!: string | null;
  @Field(() => InviteErrorCode, { description: 'Why this person failed; branch on it in code.' }) code!: Code;
  @Field(() => String, { description: 'A short English sentence for people; its wording may change, so do not parse it.' }) message!: string;
}

@ObjectType({ implements: InviteError, description: 'INVALID_EMAIL, INVALID_INPUT, INVALID_PHONE, INVALID_COUNTRY or INVALID_IPI.' })
export class InvalidInputError extends InviteError {
  @Field(() => String, { nullable: true, description: 'The input field at fault.' }) field!: string | null;
}

@ObjectType({ implements: InviteError, description: 'DUPLICATE_IN_BATCH: the same person earlier in this request; the first one wins.' })
export class DuplicateInBatchError extends InviteError {
  @Field(() => Int, { description: 'The index of the earlier entry for the same person, the one that was kept.' }) firstIndex!: number;
}

@ObjectType({ implements: InviteError, description: 'UNKNOWN_USER, UNKNOWN_ROLE, UNKNOWN_GROUP, UNKNOWN_POSITION or UNKNOWN_MANAGER.' })
export class UnknownReferenceError extends InviteError {
  @Field(() => String, { nullable: true, description: 'The input field at fault: existingUserId, roles (for roleIds or role), groups, positionIds or managerId.' })
  field!: string | null;
  @Field(() => [String], { description: 'The ids (or role name) not found in this tenant.' }) unknown!: string[];
}

@ObjectType({ implements: InviteError, description: 'ALREADY_MEMBER: already a member of, or invited to, this tenant.' })
export class AlreadyMemberError extends InviteError {}

@ObjectType({ implements: InviteError, description: "DOMAIN_NOT_ALLOWED: the email's domain is not in the tenant's allowedEmailDomains." })
export class DomainNotAllowedError extends InviteError {
  @Field(() => String, { description: 'The domain as compared (lower case, punycode).' }) domain!: string;
}

@ObjectType({ implements: InviteError, description: "SEAT_LIMIT_REACHED: every seat of the tenant's maxMembers is taken, by current members or by people earlier in this request." })
export class SeatLimitReachedError extends InviteError {
  @Field(() => Int, { description: "The tenant's seat limit (tenantSettings.maxMembers) when the request was decided." }) maxMembers!: number;
}

export const BulkInviteResult = createUnionType({
  name: 'BulkInviteResult',
  description: 'The outcome for one person: UserInvited, or a type implementing InviteError (select `... on InviteError { code message }`). results[i] answers users[i].',
  types: () =>
    [UserInvited, InvalidInputError, DuplicateInBatchError, UnknownReferenceError, AlreadyMemberError, DomainNotAllowedError, SeatLimitReachedError] as const,
});

@ObjectType({ description: 'What bulkInviteUsers did, person by person.' })
export class BulkInviteUsersPayload {
  @Field(() => Int, { description: 'The number of people in the request: results.length, and successful + failed.' }) total!: number;
  @Field(() => Int, { description: 'How many results are UserInvited.' }) successful!: number;
  @Field(() => Int, { description: 'How many results are an InviteError.' }) failed!: number;
  @Field(() => Boolean, { description: 'true when this was a dry run: nothing was written and no email was sent.' }) dryRun!: boolean;
  @Field(() => [BulkInviteResult], { description: 'One result per person, in input order: results[i] answers users[i].' })
  results!: Array<typeof BulkInviteResult>;
}

